// Command rawserver is the yardstick of bench/home.sh: a plain net/http
// handler that answers every request with the same bytes (read once from a
// file at start-up), so the catalogue home query can be compared with the
// fastest a Go HTTP server can possibly answer it on the same machine.
package main

import (
	"flag"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18081", "listen address")
	bodyFile := flag.String("body", "", "file whose bytes every response carries")
	contentType := flag.String("content-type", "application/json", "Content-Type of the responses")
	flag.Parse()
	body, err := os.ReadFile(*bodyFile)
	if err != nil {
		log.Fatal(err)
	}
	length := strconv.Itoa(len(body))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Read the request body as the GraphQL server must.
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", *contentType)
		w.Header().Set("Content-Length", length)
		_, _ = w.Write(body)
	})
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
