package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v2"
)

// composeFile is the part of a compose file the testnet relies on.
type composeFile struct {
	Services map[string]struct {
		Image         string            `yaml:"image"`
		ContainerName string            `yaml:"container_name"`
		Command       []string          `yaml:"command"`
		Volumes       []string          `yaml:"volumes"`
		Environment   map[string]string `yaml:"environment"`
		Healthcheck   struct {
			Test []string `yaml:"test"`
		} `yaml:"healthcheck"`
	} `yaml:"services"`
	Volumes  map[string]struct{ Name string } `yaml:"volumes"`
	Networks map[string]struct{ Name string } `yaml:"networks"`
}

func parseCompose(t *testing.T, s composeSpec) composeFile {
	t.Helper()
	var b bytes.Buffer
	if err := writeCompose(&b, s); err != nil {
		t.Fatal(err)
	}
	var f composeFile
	if err := yaml.Unmarshal(b.Bytes(), &f); err != nil {
		t.Fatalf("generated compose file is not YAML: %v\n%s", err, b.String())
	}
	return f
}

func TestComposeHasSeedNodesAndLateJoinerEachWithOwnVolume(t *testing.T) {
	const n = 5
	f := parseCompose(t, composeSpec{Nodes: n})
	if len(f.Services) != n+2 {
		t.Fatalf("%d services, want seed + %d nodes + late joiner", len(f.Services), n)
	}
	volumes := make(map[string]string)
	for name, svc := range f.Services {
		if svc.Image != image || svc.ContainerName != containerName(name) {
			t.Errorf("%s: image %q container %q, want %q and %q", name, svc.Image, svc.ContainerName, image, containerName(name))
		}
		if len(svc.Volumes) != 1 || !strings.HasSuffix(svc.Volumes[0], ":"+dataDir) {
			t.Fatalf("%s: volumes %v, want one volume on %s", name, svc.Volumes, dataDir)
		}
		vol := strings.TrimSuffix(svc.Volumes[0], ":"+dataDir)
		if other, dup := volumes[vol]; dup {
			t.Errorf("%s and %s share volume %s", name, other, vol)
		}
		volumes[vol] = name
		if f.Volumes[vol].Name != volumeName(name) {
			t.Errorf("%s: volume %s is named %q, want %q", name, vol, f.Volumes[vol].Name, volumeName(name))
		}
		if svc.Environment["KADNODE_DATA_DIR"] != dataDir || svc.Environment["KADNODE_API"] != apiAddr {
			t.Errorf("%s: environment %v lacks the data dir or the loopback API", name, svc.Environment)
		}
		if len(svc.Healthcheck.Test) < 2 || svc.Healthcheck.Test[0] != "CMD" || svc.Healthcheck.Test[1] != binary {
			t.Errorf("%s: healthcheck %v must exec the kadnode binary (no shell in the image)", name, svc.Healthcheck.Test)
		}
	}
	wantSeed := map[string]string{seedService: "", lateService: "node1:4114"}
	for i := 1; i <= n; i++ {
		wantSeed[nodeService(i)] = "seed:4114"
	}
	for name, want := range wantSeed {
		if got := seedArg(f.Services[name].Command); got != want {
			t.Errorf("%s: seed %q, want %q (command %v)", name, got, want, f.Services[name].Command)
		}
	}
	if f.Networks["kadnode"].Name != networkName {
		t.Errorf("networks %v, want one named %s", f.Networks, networkName)
	}
}

func TestComposeNoSeedDropsOnlyThatNodesSeed(t *testing.T) {
	f := parseCompose(t, composeSpec{Nodes: 4, NoSeed: map[string]bool{restartTarget: true}})
	for name, svc := range f.Services {
		got := seedArg(svc.Command)
		switch {
		case name == restartTarget && got != "":
			t.Errorf("%s still has seed %q", name, got)
		case name != restartTarget && name != seedService && got == "":
			t.Errorf("%s lost its seed", name)
		}
	}
}

// seedArg is the value after --seed in a command, or "".
func seedArg(cmd []string) string {
	for i, a := range cmd {
		if a == "--seed" && i+1 < len(cmd) {
			return cmd[i+1]
		}
	}
	return ""
}

// The committed compose file is the generator's output for 8 nodes, so
// that it can be read (and used by hand) without running the generator.
func TestCommittedComposeFileIsCurrent(t *testing.T) {
	var b bytes.Buffer
	if err := writeCompose(&b, composeSpec{Nodes: 8, NAT: true}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(composeFileName)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, b.Bytes()) {
		t.Errorf("%s is stale: regenerate it with `go run ./testnet/docker compose -n 8 > testnet/docker/%s`", composeFileName, composeFileName)
	}
}

// TestComposeNATCase: the router masquerades the LAN, the node behind it
// routes through it and seeds from the seed's fixed address, and the LAN
// has its own subnet.
func TestComposeNATCase(t *testing.T) {
	var b bytes.Buffer
	if err := writeCompose(&b, composeSpec{Nodes: 4, NAT: true}); err != nil {
		t.Fatal(err)
	}
	var f struct {
		Services map[string]struct {
			User       string         `yaml:"user"`
			CapAdd     []string       `yaml:"cap_add"`
			Entrypoint []string       `yaml:"entrypoint"`
			Command    []string       `yaml:"command"`
			Sysctls    map[string]int `yaml:"sysctls"`
			Networks   any            `yaml:"networks"`
		} `yaml:"services"`
		Networks map[string]struct {
			IPAM struct {
				Config []map[string]string `yaml:"config"`
			} `yaml:"ipam"`
		} `yaml:"networks"`
	}
	if err := yaml.Unmarshal(b.Bytes(), &f); err != nil {
		t.Fatalf("not YAML: %v\n%s", err, b.String())
	}
	router, nat := f.Services[routerService], f.Services[natService]
	if strings.Join(router.Entrypoint, " ") != routerBinary+" gateway -lan "+lanSubnet || router.Sysctls["net.ipv4.ip_forward"] != 1 {
		t.Errorf("router: entrypoint %v, sysctls %v", router.Entrypoint, router.Sysctls)
	}
	if strings.Join(nat.Entrypoint, " ") != routerBinary+" client -via "+routerLANIP+" -- "+binary {
		t.Errorf("natnode: entrypoint %v", nat.Entrypoint)
	}
	if got := seedArg(nat.Command); got != seedIP+":4114" {
		t.Errorf("natnode: seed %q, want the seed's fixed address", got)
	}
	for name, svc := range map[string]any{routerService: router.CapAdd, natService: nat.CapAdd} {
		if fmt.Sprint(svc) != "[NET_ADMIN]" {
			t.Errorf("%s: cap_add %v, want NET_ADMIN", name, svc)
		}
	}
	if !strings.Contains(fmt.Sprint(f.Services[seedService].Networks), seedIP) {
		t.Errorf("seed networks %v lack its fixed address %s", f.Services[seedService].Networks, seedIP)
	}
	if fmt.Sprint(nat.Networks) != fmt.Sprintf("map[lan:map[ipv4_address:%s]]", natNodeIP) {
		t.Errorf("natnode networks %v, want the LAN only", nat.Networks)
	}
	lan := f.Networks["lan"]
	if len(lan.IPAM.Config) != 1 || lan.IPAM.Config[0]["subnet"] != lanSubnet {
		t.Errorf("lan network %+v, want subnet %s", lan, lanSubnet)
	}
}

func TestBadUsageExitsTwo(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"bogus"},
		{"check", "-n", "2"},
		{"check", "-n", fmt.Sprint(maxNodes + 1)},
		{"check", "-n", "8", "-sample", "0"},
		{"compose", "-bogus"},
	} {
		var stderr bytes.Buffer
		if code := realMain(args, io.Discard, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
		if stderr.Len() == 0 {
			t.Errorf("%v: no message says what is wrong", args)
		}
	}
}

// TestDefaultTimeoutGrowsWithTheNetwork: the default bound of a check
// keeps the 8 minutes a 20-node check always had, and grows with the
// nodes (the lookup and restart steps visit them one at a time) and
// with the quiet watch.
func TestDefaultTimeoutGrowsWithTheNetwork(t *testing.T) {
	if got := defaultTimeout(defaultNodes, defaultObserve); got != 8*time.Minute {
		t.Errorf("20 nodes, default watch: %v, want 8m", got)
	}
	if got := defaultTimeout(100, defaultObserve); got != 28*time.Minute {
		t.Errorf("100 nodes, default watch: %v, want 28m", got)
	}
	if a, b := defaultTimeout(100, defaultObserve), defaultTimeout(100, 10*time.Minute); b-a != 8*time.Minute {
		t.Errorf("a watch 8 minutes longer adds %v to the bound, want 8m", b-a)
	}
}
