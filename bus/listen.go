package bus

import "net"

// loopbackListen keeps the embedded broker off every interface but loopback,
// whatever address kfake asks for: it serves this process only.
func loopbackListen(network, _ string) (net.Listener, error) {
	return net.Listen(network, "127.0.0.1:0")
}
