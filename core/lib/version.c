/* The build's version (see version.h). */
#include "vpn/version.h"

#ifndef VPN_VERSION
#define VPN_VERSION "unknown"
#endif

const char vpn_version[] = VPN_VERSION;
