package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// supervisor is a client of supervisord's XML-RPC interface over its unix
// socket, written by hand: it knows the few value types supervisord sends.
type supervisor struct {
	http *http.Client
}

func newSupervisor(sock string, conns int) *supervisor {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
	}
	return &supervisor{http: &http.Client{Transport: tr, Timeout: 2 * time.Minute}}
}

// call sends one method call and returns the raw response body; the
// caller times it and decodes it afterwards.
func (s *supervisor) call(method string, params ...any) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0"?><methodCall><methodName>`)
	xml.EscapeText(&b, []byte(method))
	b.WriteString(`</methodName><params>`)
	for _, p := range params {
		b.WriteString(`<param><value>`)
		switch v := p.(type) {
		case string:
			b.WriteString(`<string>`)
			xml.EscapeText(&b, []byte(v))
			b.WriteString(`</string>`)
		case bool:
			if v {
				b.WriteString(`<boolean>1</boolean>`)
			} else {
				b.WriteString(`<boolean>0</boolean>`)
			}
		case int:
			fmt.Fprintf(&b, `<int>%d</int>`, v)
		default:
			return nil, fmt.Errorf("xml-rpc: cannot send %T", p)
		}
		b.WriteString(`</value></param>`)
	}
	b.WriteString(`</params></methodCall>`)
	resp, err := s.http.Post("http://supervisord/RPC2", "text/xml", &b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP %s", method, resp.Status)
	}
	return body, nil
}

// do calls method and decodes its result, turning a fault into an error.
func (s *supervisor) do(method string, params ...any) (any, error) {
	body, err := s.call(method, params...)
	if err != nil {
		return nil, err
	}
	v, err := decodeResponse(body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	return v, nil
}

// svProcess is what the benchmark reads of one entry of getAllProcessInfo.
type svProcess struct {
	Name, State string
	PID         int
}

func parseProcessInfos(v any) ([]svProcess, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("getAllProcessInfo: %T, want an array", v)
	}
	out := make([]svProcess, 0, len(arr))
	for _, e := range arr {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("getAllProcessInfo: entry %T, want a struct", e)
		}
		name, _ := m["name"].(string)
		state, _ := m["statename"].(string)
		pid, _ := m["pid"].(int)
		out = append(out, svProcess{Name: name, State: state, PID: pid})
	}
	return out, nil
}

// decodeResponse decodes a methodResponse: its one param, or its fault
// as an error.
func decodeResponse(body []byte) (any, error) {
	d := xml.NewDecoder(bytes.NewReader(body))
	fault := false
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, fmt.Errorf("xml-rpc response: %w", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch se.Name.Local {
		case "fault":
			fault = true
		case "value":
			v, err := decodeValue(d)
			if err != nil {
				return nil, err
			}
			if fault {
				m, _ := v.(map[string]any)
				return nil, fmt.Errorf("fault %v: %v", m["faultCode"], m["faultString"])
			}
			return v, nil
		}
	}
}

// decodeValue decodes the content of a <value> whose start tag was read,
// up to and including its end tag.
func decodeValue(d *xml.Decoder) (any, error) {
	var text strings.Builder
	var v any
	typed := false
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.CharData:
			text.Write(t)
		case xml.EndElement: // </value>
			if !typed {
				return text.String(), nil // a bare value is a string
			}
			return v, nil
		case xml.StartElement:
			typed = true
			if v, err = decodeTyped(d, t.Name.Local); err != nil {
				return nil, err
			}
		}
	}
}

func decodeTyped(d *xml.Decoder, typ string) (any, error) {
	switch typ {
	case "array":
		var out []any
		for {
			tok, err := d.Token()
			if err != nil {
				return nil, err
			}
			switch t := tok.(type) {
			case xml.StartElement:
				if t.Name.Local == "value" {
					v, err := decodeValue(d)
					if err != nil {
						return nil, err
					}
					out = append(out, v)
				}
			case xml.EndElement:
				if t.Name.Local == "array" {
					return out, nil
				}
			}
		}
	case "struct":
		out := map[string]any{}
		var name string
		for {
			tok, err := d.Token()
			if err != nil {
				return nil, err
			}
			switch t := tok.(type) {
			case xml.StartElement:
				switch t.Name.Local {
				case "name":
					var s string
					if err := d.DecodeElement(&s, &t); err != nil {
						return nil, err
					}
					name = s
				case "value":
					v, err := decodeValue(d)
					if err != nil {
						return nil, err
					}
					out[name] = v
				}
			case xml.EndElement:
				if t.Name.Local == "struct" {
					return out, nil
				}
			}
		}
	default:
		var s string
		start := xml.StartElement{Name: xml.Name{Local: typ}}
		if err := d.DecodeElement(&s, &start); err != nil {
			return nil, err
		}
		switch typ {
		case "int", "i4":
			return strconv.Atoi(strings.TrimSpace(s))
		case "boolean":
			return strings.TrimSpace(s) == "1", nil
		case "double":
			return strconv.ParseFloat(strings.TrimSpace(s), 64)
		case "string", "dateTime.iso8601", "base64":
			return s, nil
		case "nil":
			return nil, nil
		}
		return nil, errors.New("xml-rpc: unknown type " + typ)
	}
}
