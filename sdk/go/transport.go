package baton

import (
	"net"
	"net/http"
	"time"
)

// NewHTTPClient returns the HTTP client the SDK uses by default: HTTP/2
// everywhere, cleartext (h2c, prior knowledge) for http:// URLs and TLS for
// https:// URLs, as gRPC and the worker's bidirectional stream need. Dead
// connections are found with HTTP/2 pings so a worker notices a vanished
// server even when no packet says so.
func NewHTTPClient() *http.Client {
	var protocols http.Protocols
	protocols.SetHTTP2(true)
	protocols.SetUnencryptedHTTP2(true)
	transport := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout: 10 * time.Second,
		IdleConnTimeout:     90 * time.Second,
		Protocols:           &protocols,
		HTTP2: &http.HTTP2Config{
			SendPingTimeout: 15 * time.Second,
			PingTimeout:     10 * time.Second,
		},
	}
	return &http.Client{Transport: transport}
}

// closeIdle closes the idle connections of a client the SDK made itself.
func closeIdle(c *http.Client, owned bool) {
	if owned && c != nil {
		c.CloseIdleConnections()
	}
}
