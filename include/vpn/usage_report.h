/* `vpnctl usage` and `vpnctl history`: reports from the usage database (usage_db.h), read
 * directly (read-only), so that they work whether or not the server runs.
 *
 *   vpnctl usage   [--user U] [--since YYYY-MM-DD] [--json] [-c server.conf | --db FILE]
 *   vpnctl history [--user U] [--since YYYY-MM-DD] [--limit N] [--json] [-c ... | --db ...]
 *
 * The database is [usage] database of the server's configuration (default
 * /etc/vpnse/server.conf). Bytes of live sessions appear at the server's next flush. */
#ifndef VPN_USAGE_REPORT_H
#define VPN_USAGE_REPORT_H

/* argv[0] is "usage" or "history". Returns the exit status (0, 1 on errors, 2 on bad usage). */
int usage_report_main(int argc, char **argv);

#endif
