package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// redisConn speaks just enough RESP for the guestbook: commands as arrays of bulk strings, and the reply types
// redis sends back (simple string, error, integer, bulk string, array). One connection, serialized, redialled on error.
type redisConn struct {
	addr, password string
	mu             sync.Mutex
	conn           net.Conn
	r              *bufio.Reader
}

func (c *redisConn) dial() error {
	conn, err := net.DialTimeout("tcp", c.addr, 2*time.Second)
	if err != nil {
		return err
	}
	c.conn, c.r = conn, bufio.NewReader(conn)
	if c.password != "" {
		if _, err := c.roundTrip("AUTH", c.password); err != nil {
			c.close()
			return fmt.Errorf("AUTH: %w", err)
		}
	}
	return nil
}

func (c *redisConn) close() {
	if c.conn != nil {
		c.conn.Close()
	}
	c.conn, c.r = nil, nil
}

// Do runs one command and returns its reply: string, int64, nil, or []any.
func (c *redisConn) Do(args ...string) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		if err := c.dial(); err != nil {
			return nil, err
		}
	}
	reply, err := c.roundTrip(args...)
	var redisErr redisError
	if err != nil && !errors.As(err, &redisErr) {
		c.close()
	}
	return reply, err
}

type redisError string

func (e redisError) Error() string { return string(e) }

func (c *redisConn) roundTrip(args ...string) (any, error) {
	c.conn.SetDeadline(time.Now().Add(5 * time.Second))
	buf := []byte("*" + strconv.Itoa(len(args)) + "\r\n")
	for _, a := range args {
		buf = append(buf, "$"+strconv.Itoa(len(a))+"\r\n"+a+"\r\n"...)
	}
	if _, err := c.conn.Write(buf); err != nil {
		return nil, err
	}
	return c.readReply()
}

func (c *redisConn) readLine() (string, error) {
	line, err := c.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return "", fmt.Errorf("malformed reply line %q", line)
	}
	return line[:len(line)-2], nil
}

func (c *redisConn) readReply() (any, error) {
	line, err := c.readLine()
	if err != nil {
		return nil, err
	}
	switch line[0] {
	case '+':
		return line[1:], nil
	case '-':
		return nil, redisError(line[1:])
	case ':':
		return strconv.ParseInt(line[1:], 10, 64)
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return nil, err
		}
		data := make([]byte, n+2)
		if _, err := io.ReadFull(c.r, data); err != nil {
			return nil, err
		}
		return string(data[:n]), nil
	case '*':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return nil, err
		}
		items := make([]any, 0, n)
		for i := 0; i < n; i++ {
			item, err := c.readReply()
			if err != nil {
				return nil, err
			}
			items = append(items, item)
		}
		return items, nil
	}
	return nil, fmt.Errorf("unknown reply type %q", line[0])
}
