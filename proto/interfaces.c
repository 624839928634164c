// SPDX-License-Identifier: GPL-2.0-only
/* The varlink interfaces hvisord implements, as IDL. docs/protocol.md
 * explains each method; keep both in step. */
#include <string.h>

#include "varlink.h"

static const char service_idl[] =
	"# Implemented by every varlink service: what it is and which interfaces it has.\n"
	"interface org.varlink.service\n"
	"\n"
	"# Product information and the list of implemented interfaces.\n"
	"method GetInfo() -> (\n"
	"  vendor: string,\n"
	"  product: string,\n"
	"  version: string,\n"
	"  url: string,\n"
	"  interfaces: []string\n"
	")\n"
	"\n"
	"# The IDL text of one implemented interface.\n"
	"method GetInterfaceDescription(interface: string) -> (description: string)\n"
	"\n"
	"error InterfaceNotFound (interface: string)\n"
	"error MethodNotFound (method: string)\n"
	"error MethodNotImplemented (method: string)\n"
	"error InvalidParameter (parameter: string)\n"
	"error PermissionDenied ()\n"
	"error ExpectedMore ()\n";

static const char hvisor_idl[] =
	"# Errors shared by all org.hvisor.* interfaces. Each carries a human-readable\n"
	"# message; programs decide by the error name, never by the message.\n"
	"interface org.hvisor\n"
	"\n"
	"# A parameter or a key of a zone config is wrong. parameter is its JSON path,\n"
	"# e.g. \"config.memory_regions[2].size\".\n"
	"error InvalidParameter (parameter: string, message: string)\n"
	"\n"
	"# The caller is neither root nor a member of the group \"hvisor\".\n"
	"error PermissionDenied (message: string)\n"
	"\n"
	"# The hypervisor or its kernel module refused; errno as reported by it.\n"
	"error KernelError (operation: string, errno: int, errno_name: string, message: string)\n"
	"\n"
	"# The request needs something this hypervisor or daemon cannot do.\n"
	"error NotSupported (message: string)\n"
	"\n"
	"# A daemon limit (connections, subscribers, message size) was hit.\n"
	"error LimitExceeded (limit: string, message: string)\n"
	"\n"
	"# Another operation on the same object is in progress.\n"
	"error Busy (message: string)\n"
	"\n"
	"# The message could not be understood; the connection is closed afterwards.\n"
	"error ProtocolError (message: string)\n"
	"\n"
	"# A bug or resource failure inside hvisord.\n"
	"error Internal (message: string)\n";

static const char manager_idl[] =
	"# The daemon itself: version, backend and the event stream.\n"
	"interface org.hvisor.Manager\n"
	"\n"
	"type Info (\n"
	"  version: string,\n"
	"  api_major: int,\n"
	"  api_minor: int,\n"
	"  # \"sim\" (hvisor-sim) or \"kmod\" (/dev/hvisor)\n"
	"  backend: string,\n"
	"  backend_path: string,\n"
	"  arch: string,\n"
	"  # what CONFIG_CHECK reported; zones start only with a known magic\n"
	"  config_magic: int,\n"
	"  config_magic_supported: bool,\n"
	"  # physical CPUs, 0 when the backend cannot tell\n"
	"  cpus: int,\n"
	"  log_level: string,\n"
	"  features: []string\n"
	")\n"
	"\n"
	"# One event. zone_id and name are set for zone events, message for failures.\n"
	"type Event (\n"
	"  # Subscribed, ZoneStarted, ZoneStartFailed, ZoneStopped, ZoneVanished\n"
	"  event: string,\n"
	"  timestamp_usec: int,\n"
	"  monotonic_usec: int,\n"
	"  zone_id: ?int,\n"
	"  name: ?string,\n"
	"  message: ?string\n"
	")\n"
	"\n"
	"method GetInfo() -> (info: Info)\n"
	"\n"
	"# Call with \"more\": true. The first reply is the event Subscribed, then one\n"
	"# reply per event, until the client hangs up. A subscriber that stops\n"
	"# reading is dropped once its queue is full.\n"
	"method Subscribe() -> (event: Event)\n"
	"\n"
	"# Change the log level at run time: debug, info, notice, warning, err.\n"
	"method SetLogLevel(level: string) -> (previous: string)\n";

static const char zone_idl[] =
	"# Zone lifecycle.\n"
	"interface org.hvisor.Zone\n"
	"\n"
	"type MemoryRegion (type: string, physical_start: int, virtual_start: int, size: int)\n"
	"\n"
	"type Image (key: string, path: string, load_paddr: int, size: int)\n"
	"\n"
	"type Zone (\n"
	"  zone_id: int,\n"
	"  name: string,\n"
	"  cpus: []int,\n"
	"  # running, error (the hypervisor flagged the zone) or starting\n"
	"  status: string,\n"
	"  # started through this hvisord: the fields below are known\n"
	"  managed: bool,\n"
	"  started_usec: ?int,\n"
	"  source: ?string,\n"
	"  arch: ?string,\n"
	"  entry_point: ?int,\n"
	"  memory_regions: ?[]MemoryRegion,\n"
	"  interrupts: ?[]int,\n"
	"  images: ?[]Image\n"
	")\n"
	"\n"
	"# Start a zone from its JSON config (docs/config.md). files maps every file\n"
	"# key of the config (\"kernel_filepath\", \"dtb_filepath\", \"modules[0].filepath\",\n"
	"# ...) to the index of a file descriptor passed with this message; hvisord\n"
	"# never opens paths for a client. source is the config's path, for display.\n"
	"method Start(config: object, files: ?[string]int, source: ?string) -> (\n"
	"  zone_id: int,\n"
	"  name: string,\n"
	"  warnings: []string\n"
	")\n"
	"\n"
	"method Shutdown(zone_id: int) -> ()\n"
	"\n"
	"# All zones the hypervisor reports, the root zone first.\n"
	"method List() -> (zones: []Zone)\n"
	"\n"
	"method Info(zone_id: int) -> (zone: Zone)\n"
	"\n"
	"error NotFound (zone_id: int, message: string)\n"
	"error AlreadyExists (zone_id: int, message: string)\n"
	"# A CPU of the config belongs to zone owner.\n"
	"error CpuBusy (cpu: int, owner: int, message: string)\n"
	"# A RAM region of the config overlaps RAM of zone owner.\n"
	"error MemoryOverlap (owner: int, start: int, size: int, message: string)\n";

const struct vl_interface vl_interfaces[] = {
	{VL_IFACE_SERVICE, service_idl},
	{"org.hvisor", hvisor_idl},
	{VL_IFACE_MANAGER, manager_idl},
	{VL_IFACE_ZONE, zone_idl},
};
const size_t vl_n_interfaces = sizeof(vl_interfaces) / sizeof(vl_interfaces[0]);

const char *vl_interface_description(const char *name)
{
	for (size_t i = 0; i < vl_n_interfaces; i++)
		if (strcmp(vl_interfaces[i].name, name) == 0)
			return vl_interfaces[i].description;
	return NULL;
}
