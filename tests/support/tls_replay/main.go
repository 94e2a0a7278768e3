// tls_replay: plays a peer that replays another TDBE's genuine attested-TLS certificate
// without its private key. It connects to a TDBE over TLS 1.3, presents the captured
// certificate with a key of its own (so its CertificateVerify cannot be valid), and
// sends a key request. Exit 0 if the server never answers a byte (the handshake was
// refused), 1 if it answered, 2 on usage or local errors.
//
// usage: go run tests/support/tls_replay/main.go ADDR CERT.der
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"time"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: tls_replay ADDR CERT.der")
		os.Exit(2)
	}
	der, err := os.ReadFile(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS13,
		InsecureSkipVerify: true, // the server's judgment is under test, not ours
		Certificates:       []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
	}
	raw, err := net.DialTimeout("tcp", os.Args[1], 10*time.Second)
	if err != nil {
		fmt.Fprintln(os.Stderr, err) // nothing listening: not a verdict
		os.Exit(2)
	}
	conn := tls.Client(raw, cfg)
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if err := conn.Handshake(); err != nil {
		fmt.Printf("refused during the handshake: %v\n", err)
		os.Exit(0)
	}
	// A KeyRequest frame for epoch 0 naming a 32-byte account.
	msg := append([]byte{0x0a, 0x22, 0x12, 0x20}, make([]byte, 32)...)
	frame := append([]byte{0, 0, 0, byte(len(msg))}, msg...)
	if _, err := conn.Write(frame); err != nil {
		fmt.Printf("refused: %v\n", err)
		os.Exit(0)
	}
	buf := make([]byte, 64)
	n, err := conn.Read(buf)
	if n > 0 {
		fmt.Printf("the server answered %d bytes\n", n)
		os.Exit(1)
	}
	fmt.Printf("refused: %v\n", err)
	os.Exit(0)
}
