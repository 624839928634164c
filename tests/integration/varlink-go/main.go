// SPDX-License-Identifier: GPL-2.0-only

// A client of hvisord written with the reference varlink library
// (github.com/varlink/go, Debian's golang-github-varlink-go-dev), driven by
// test-int-varlink-go.c against an hvisord on hvisor-sim. It uses nothing
// of this project: what it does, any varlink client can.
//
//	varlink-go-client -address unix:SOCK introspect
//	varlink-go-client -address unix:SOCK calls -zone ID
//	varlink-go-client -address unix:SOCK subscribe -zone ID
//
// Prints what it checked; exits 1 with the reason at the first mismatch.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/varlink/go/varlink"
	"github.com/varlink/go/varlink/idl"
)

// Long enough for the sanitizer builds on a loaded machine.
const timeout = 15 * time.Second

var wantInterfaces = []string{
	"org.varlink.service", "org.hvisor", "org.hvisor.Manager", "org.hvisor.Zone",
	"org.hvisor.Virtio",
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "varlink-go-client: "+format+"\n", args...)
	os.Exit(1)
}

func connect(ctx context.Context, address string) *varlink.Connection {
	c, err := varlink.NewConnection(ctx, address)
	if err != nil {
		fail("connect %s: %v", address, err)
	}
	return c
}

// The reference parser accepts lower-case interface names only
// (^[a-z]+(\.[a-z0-9]+([-][a-z0-9]+)*)+); hvisord's are org.hvisor.Zone
// and the like. Only the name on the interface line is lowered.
func lowerName(desc, name string) string {
	return strings.Replace(desc, "\ninterface "+name+"\n",
		"\ninterface "+strings.ToLower(name)+"\n", 1)
}

func introspect(c *varlink.Connection, ctx context.Context) {
	var vendor, product, version, url string
	var ifaces []string

	if err := c.GetInfo(ctx, &vendor, &product, &version, &url, &ifaces); err != nil {
		fail("GetInfo: %v", err)
	}
	if product != "hvisord" || vendor == "" || version == "" || url == "" {
		fail("GetInfo: vendor %q product %q version %q url %q", vendor, product, version, url)
	}
	fmt.Printf("GetInfo: %s %s %s, interfaces %v\n", vendor, product, version, ifaces)
	for _, w := range wantInterfaces {
		found := false
		for _, i := range ifaces {
			found = found || i == w
		}
		if !found {
			fail("GetInfo does not list %s", w)
		}
	}
	for _, name := range ifaces {
		desc, err := c.GetInterfaceDescription(ctx, name)
		if err != nil {
			fail("GetInterfaceDescription(%s): %v", name, err)
		}
		parsed, err := idl.New(lowerName(desc, name))
		if err != nil {
			fail("the description of %s does not parse with varlink-go: %v", name, err)
		}
		if parsed.Name != strings.ToLower(name) {
			fail("the description of %s names interface %s", name, parsed.Name)
		}
		fmt.Printf("%s: %d types, %d methods, %d errors\n", name, len(parsed.Aliases),
			len(parsed.Methods), len(parsed.Errors))
	}
	_, err := c.GetInterfaceDescription(ctx, "org.example.nope")
	var nf *varlink.InterfaceNotFound
	if !errors.As(err, &nf) || nf.Interface != "org.example.nope" {
		fail("GetInterfaceDescription(org.example.nope): %v, want InterfaceNotFound", err)
	}
	fmt.Println("GetInterfaceDescription(org.example.nope): InterfaceNotFound")
}

type zone struct {
	ZoneID  int64   `json:"zone_id"`
	Name    string  `json:"name"`
	Cpus    []int64 `json:"cpus"`
	Status  string  `json:"status"`
	Managed bool    `json:"managed"`
	Arch    *string `json:"arch"`
}

// The error a call must fail with, and its parameters.
func wantError(err error, name string) map[string]interface{} {
	var ve *varlink.Error
	if !errors.As(err, &ve) || ve.Name != name {
		fail("got %v, want the error %s", err, name)
	}
	params := map[string]interface{}{}
	if raw, ok := ve.Parameters.(*json.RawMessage); ok && raw != nil {
		if err := json.Unmarshal(*raw, &params); err != nil {
			fail("%s: parameters: %v", name, err)
		}
	}
	return params
}

func calls(c *varlink.Connection, ctx context.Context, zoneID int64) {
	var limits struct {
		Limits struct {
			Connections  int64 `json:"connections"`
			MessageBytes int64 `json:"message_bytes"`
		} `json:"limits"`
	}
	// parameterless: varlink-go sends "parameters": null
	if err := c.Call(ctx, "org.hvisor.GetLimits", nil, &limits); err != nil {
		fail("GetLimits: %v", err)
	}
	if limits.Limits.Connections <= 0 || limits.Limits.MessageBytes != 128*1024 {
		fail("GetLimits: %+v", limits)
	}
	fmt.Printf("GetLimits: %+v\n", limits.Limits)

	var info struct {
		Info struct {
			Version  string `json:"version"`
			APIMajor int64  `json:"api_major"`
			Backend  string `json:"backend"`
		} `json:"info"`
	}
	if err := c.Call(ctx, "org.hvisor.Manager.GetInfo", nil, &info); err != nil {
		fail("Manager.GetInfo: %v", err)
	}
	if info.Info.APIMajor != 1 || info.Info.Backend != "sim" {
		fail("Manager.GetInfo: %+v", info)
	}
	fmt.Printf("Manager.GetInfo: %+v\n", info.Info)

	var list struct {
		Zones []zone `json:"zones"`
	}
	if err := c.Call(ctx, "org.hvisor.Zone.List", nil, &list); err != nil {
		fail("Zone.List: %v", err)
	}
	if len(list.Zones) != 2 || list.Zones[0].ZoneID != 0 || list.Zones[1].ZoneID != zoneID ||
		!list.Zones[1].Managed {
		fail("Zone.List: %+v", list)
	}
	fmt.Printf("Zone.List: %d zones\n", len(list.Zones))

	var one struct {
		Zone zone `json:"zone"`
	}
	in := map[string]interface{}{"zone_id": zoneID}
	if err := c.Call(ctx, "org.hvisor.Zone.Info", in, &one); err != nil {
		fail("Zone.Info: %v", err)
	}
	if one.Zone.ZoneID != zoneID || one.Zone.Name != list.Zones[1].Name ||
		one.Zone.Status != "running" || one.Zone.Arch == nil {
		fail("Zone.Info: %+v", one)
	}
	fmt.Printf("Zone.Info(%d): %s, %s\n", zoneID, one.Zone.Name, one.Zone.Status)

	// errors: the name, and the parameters it declares
	err := c.Call(ctx, "org.hvisor.Zone.Info", map[string]interface{}{"zone_id": 99}, &one)
	p := wantError(err, "org.hvisor.Zone.NotFound")
	if p["zone_id"] != float64(99) || p["message"] == "" {
		fail("Zone.NotFound: %v", p)
	}
	fmt.Printf("Zone.Info(99): org.hvisor.Zone.NotFound %v\n", p)
	err = c.Call(ctx, "org.hvisor.Zone.Info", map[string]interface{}{"zone_id": "one"}, &one)
	p = wantError(err, "org.hvisor.InvalidParameter")
	if p["parameter"] != "zone_id" {
		fail("InvalidParameter: %v", p)
	}
	fmt.Printf("Zone.Info(\"one\"): org.hvisor.InvalidParameter %v\n", p)
	err = c.Call(ctx, "org.hvisor.Zone.Frobnicate", nil, &one)
	var mnf *varlink.MethodNotFound
	if !errors.As(err, &mnf) || mnf.Method != "org.hvisor.Zone.Frobnicate" {
		fail("Zone.Frobnicate: %v, want MethodNotFound", err)
	}
	fmt.Println("Zone.Frobnicate: MethodNotFound")
}

type event struct {
	Event  string `json:"event"`
	ZoneID *int64 `json:"zone_id"`
}

// Subscribe with "more": the first reply, Subscribed, continues; then the
// client says so on stdout and waits for ZoneStarted of zoneID.
func subscribe(c *varlink.Connection, zoneID int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*timeout)
	defer cancel()
	recv, err := c.Send(ctx, "org.hvisor.Manager.Subscribe", nil, varlink.More)
	if err != nil {
		fail("Subscribe: %v", err)
	}
	for first := true; ; first = false {
		var out struct {
			Event event `json:"event"`
		}
		flags, err := recv(ctx, &out)
		if err != nil {
			fail("Subscribe: %v", err)
		}
		if flags&varlink.Continues == 0 {
			fail("Subscribe: a reply without continues: %+v", out)
		}
		if first {
			if out.Event.Event != "Subscribed" {
				fail("Subscribe: first event %q", out.Event.Event)
			}
			fmt.Println("subscribed")
			continue
		}
		fmt.Printf("event %s\n", out.Event.Event)
		if out.Event.Event == "ZoneStarted" && out.Event.ZoneID != nil &&
			*out.Event.ZoneID == zoneID {
			return
		}
	}
}

func main() {
	address := flag.String("address", "", "unix:PATH of hvisord's socket")
	flag.Parse()
	if *address == "" || flag.NArg() < 1 {
		fail("usage: varlink-go-client -address unix:PATH introspect|calls|subscribe [-zone ID]")
	}
	sub := flag.NewFlagSet(flag.Arg(0), flag.ExitOnError)
	zoneID := sub.Int64("zone", 1, "the zone the test started")
	if err := sub.Parse(flag.Args()[1:]); err != nil {
		fail("%v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c := connect(ctx, *address)
	defer c.Close()
	switch flag.Arg(0) {
	case "introspect":
		introspect(c, ctx)
	case "calls":
		calls(c, ctx, *zoneID)
	case "subscribe":
		subscribe(c, *zoneID)
	default:
		fail("unknown command %q", flag.Arg(0))
	}
}
