/* The version of this build, for the status and the metrics' build info: `git describe` of
 * the tree it was built from (with "-dirty" for uncommitted changes), or "unknown" outside a
 * git checkout. Set by the Makefile on core/lib/version.c alone. */
#ifndef VPN_VERSION_H
#define VPN_VERSION_H

extern const char vpn_version[];

#endif
