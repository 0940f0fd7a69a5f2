package wire

import "github.com/pion/logging"

// pionLogs is the logger factory of a transport's pion conns: it writes
// nothing (outcomes are counted and logged by the transport) but counts
// the one event pion reports only in its log, a record dropped by its
// replay window. The mux cannot count those itself: it sees records
// before they are authenticated, so a forged header would pass for a
// replay, and a replay would be missed after a forged one.
type pionLogs struct{ stats *counters }

func (f pionLogs) NewLogger(string) logging.LeveledLogger { return pionLogger(f) }

// pionLogger is pionLogs' logger. pion hands over the format and its
// arguments unformatted, so comparing the format costs next to nothing.
type pionLogger struct{ stats *counters }

func (l pionLogger) Debugf(format string, _ ...any) {
	if format == pionReplayLog {
		l.stats.drop(dropReplayed)
	}
}

func (pionLogger) Trace(string)          {}
func (pionLogger) Tracef(string, ...any) {}
func (pionLogger) Debug(string)          {}
func (pionLogger) Info(string)           {}
func (pionLogger) Infof(string, ...any)  {}
func (pionLogger) Warn(string)           {}
func (pionLogger) Warnf(string, ...any)  {}
func (pionLogger) Error(string)          {}
func (pionLogger) Errorf(string, ...any) {}
