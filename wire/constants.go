package wire

// KeyFileName is the node key's file name inside the data dir.
const KeyFileName = "node.key"
