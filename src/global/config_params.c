/*
 * config_params - the compiled-in table of every main.cf parameter ulak
 * knows: name, type, default and a one-line meaning.
 *
 * Names and defaults are Postfix's wherever Postfix has the parameter;
 * docs marked "[ulak]" are parameters Postfix does not have, "[ulak
 * meaning]" ones whose meaning differs.  A default starting with
 * CONFIG_DEF_COMPUTED is computed at run time by config.c.  The table must
 * stay sorted by name (strcmp order; a unit test checks it), and
 * docs/parameters.md is generated from it (scripts/gen-parameters-doc.sh;
 * a unit test checks that every name is there).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

static const struct config_param_def config_param_table[] = {
	{ "2bounce_notice_recipient", CONFIG_TYPE_STR, "postmaster", 0,
	    "Who gets undeliverable bounce messages (double bounces), "
	    "with notify_classes 2bounce." },
	{ "access_map_defer_code", CONFIG_TYPE_INT, "450", 0,
	    "SMTP reply code when an access table answers DEFER or a "
	    "defer_* restriction applies." },
	{ "access_map_reject_code", CONFIG_TYPE_INT, "554", 0,
	    "SMTP reply code when an access table answers REJECT." },
	{ "alias_database", CONFIG_TYPE_LIST, "hash:/etc/aliases", 0,
	    "The alias tables that `ulak aliases` (newaliases) rebuilds." },
	{ "alias_maps", CONFIG_TYPE_LIST, "hash:/etc/aliases", 0,
	    "Alias tables that the local delivery agent looks up "
	    "(aliases(5) format)." },
	{ "allow_mail_to_commands", CONFIG_TYPE_LIST, "alias, forward", 0,
	    "Where \"|command\" destinations are allowed: alias, forward, "
	    "include." },
	{ "allow_mail_to_files", CONFIG_TYPE_LIST, "alias, forward", 0,
	    "Where \"/file\" destinations are allowed: alias, forward, "
	    "include." },
	{ "allow_min_user", CONFIG_TYPE_BOOL, "no", 0,
	    "Accept addresses that begin with \"-\" (off: they could be "
	    "taken as command options)." },
	{ "always_add_missing_headers", CONFIG_TYPE_BOOL, "no", 0,
	    "Add missing From:, To:, Date:, Message-ID: also to mail from "
	    "remote clients." },
	{ "always_bcc", CONFIG_TYPE_STR, "", 0,
	    "An address that gets a copy of every message." },
	{ "anvil_rate_time_unit", CONFIG_TYPE_TIME, "60s", 's',
	    "The time unit of the smtpd_client_*_rate_limit counters." },
	{ "append_dot_mydomain", CONFIG_TYPE_BOOL, "no", 0,
	    "Append .$mydomain to a domain without a dot in an address "
	    "(Postfix 3 default: no)." },
	{ "authorized_submit_users", CONFIG_TYPE_LIST, "static:anyone", 0,
	    "Local users allowed to submit mail with `ulak sendmail` "
	    "(static:anyone: everyone)." },
	{ "biff", CONFIG_TYPE_BOOL, "no", 0,
	    "Accepted for Postfix compatibility; ulak has no comsat "
	    "notification and ignores it." },
	{ "body_checks", CONFIG_TYPE_LIST, "", 0,
	    "Tables of /pattern/ action lines applied to each body line "
	    "(regexp: or pcre:)." },
	{ "body_checks_size_limit", CONFIG_TYPE_SIZE, "51200", 0,
	    "How many bytes of each body part body_checks inspect." },
	{ "bounce_notice_recipient", CONFIG_TYPE_STR, "postmaster", 0,
	    "Who gets a copy of bounce messages, with notify_classes "
	    "bounce." },
	{ "bounce_queue_lifetime", CONFIG_TYPE_TIME, "5d", 'd',
	    "How long a bounce message (null sender) stays in the queue "
	    "before it is given up." },
	{ "bounce_size_limit", CONFIG_TYPE_SIZE, "50000", 0,
	    "At most this many bytes of the original message are returned "
	    "in a bounce." },
	{ "canonical_maps", CONFIG_TYPE_LIST, "", 0,
	    "Address rewriting tables for envelope and header addresses "
	    "(sender and recipient)." },
	{ "command_time_limit", CONFIG_TYPE_TIME, "1000s", 's',
	    "Time limit for delivery to an external command (|command, "
	    "mailbox_command, pipe)." },
	{ "compatibility_level", CONFIG_TYPE_STR, "0", 0,
	    "Accepted for Postfix compatibility (Postfix main.cf files "
	    "set it); ulak ignores it." },
	{ "config_directory", CONFIG_TYPE_STR, "(computed) the folder given with -c, else /etc/ulak", 0,
	    "The folder that holds main.cf and master.cf." },
	{ "content_filter", CONFIG_TYPE_STR, "", 0,
	    "A \"transport:nexthop\" that receives all mail after the queue "
	    "(an after-queue filter)." },
	{ "daemon_directory", CONFIG_TYPE_STR, "", 0,
	    "[ulak meaning] The folder with the daemon executables; "
	    "empty: the libexec/ulak folder found next to the ulak "
	    "command." },
	{ "daemon_timeout", CONFIG_TYPE_TIME, "18000s", 's',
	    "How long a daemon may work on one request before it is "
	    "stopped." },
	{ "data_directory", CONFIG_TYPE_STR, "/var/lib/ulak", 0,
	    "The folder for ulak's writable state (greylist and TLS "
	    "data), owned by mail_owner." },
	{ "debug_peer_level", CONFIG_TYPE_INT, "2", 0,
	    "Extra verbosity for clients matching debug_peer_list." },
	{ "debug_peer_list", CONFIG_TYPE_LIST, "", 0,
	    "Clients (host names, addresses, networks) whose sessions are "
	    "logged verbosely." },
	{ "default_database_type", CONFIG_TYPE_STR, "hash", 0,
	    "The table type `ulak map` and `ulak aliases` use when a file "
	    "name has no \"type:\"." },
	{ "default_destination_concurrency_limit", CONFIG_TYPE_INT, "20", 0,
	    "At most this many parallel deliveries to one destination." },
	{ "default_destination_rate_delay", CONFIG_TYPE_TIME, "0s", 's',
	    "Pause between two deliveries to the same destination (0s: "
	    "none)." },
	{ "default_destination_recipient_limit", CONFIG_TYPE_INT, "50", 0,
	    "At most this many recipients per delivery." },
	{ "default_privs", CONFIG_TYPE_STR, "nobody", 0,
	    "The user whose rights deliveries to commands and files in "
	    "aliases get." },
	{ "default_process_limit", CONFIG_TYPE_INT, "100", 0,
	    "At most this many processes of one service when master.cf "
	    "says \"-\"." },
	{ "default_transport", CONFIG_TYPE_STR, "smtp", 0,
	    "The transport for mail to domains that are not local, not "
	    "relayed and not virtual." },
	{ "defer_code", CONFIG_TYPE_INT, "450", 0,
	    "SMTP reply code for the defer restriction." },
	{ "defer_transports", CONFIG_TYPE_LIST, "", 0,
	    "Transports whose mail is kept in the queue until `ulak queue "
	    "flush`." },
	{ "delay_notice_recipient", CONFIG_TYPE_STR, "postmaster", 0,
	    "Who gets a copy of delay warnings, with notify_classes "
	    "delay." },
	{ "delay_warning_time", CONFIG_TYPE_TIME, "0h", 'h',
	    "Send the sender a \"still trying\" notice after this long (0h: "
	    "never)." },
	{ "disable_mime_input_processing", CONFIG_TYPE_BOOL, "no", 0,
	    "Treat the message as plain text: no MIME parsing for "
	    "header/body checks." },
	{ "disable_vrfy_command", CONFIG_TYPE_BOOL, "no", 0,
	    "Answer VRFY with 502 instead of looking the address up." },
	{ "dkim_canonicalization", CONFIG_TYPE_STR, "relaxed/relaxed", 0,
	    "[ulak] Header/body canonicalization of the DKIM signatures "
	    "ulak makes: simple or relaxed for each (RFC 6376 3.4)." },
	{ "dkim_oversign_headers", CONFIG_TYPE_LIST, "From, To, Cc, Subject, Date, Reply-To, Sender, Message-ID, In-Reply-To, References, MIME-Version, Content-Type, Content-Transfer-Encoding", 0,
	    "[ulak] Header fields a DKIM signature covers once more than "
	    "present, so that none can be added later (RFC 6376 8.15); "
	    "From always is." },
	{ "dkim_signature_ttl", CONFIG_TYPE_TIME, "0s", 's',
	    "[ulak] Lifetime written into the DKIM signatures ulak makes "
	    "(x= = t= + this); 0: no x=." },
	{ "dkim_signing_headers", CONFIG_TYPE_LIST, "From, Reply-To, Subject, Date, To, Cc, Resent-Date, Resent-From, Resent-To, Resent-Cc, In-Reply-To, References, List-Id, List-Help, List-Unsubscribe, List-Subscribe, List-Post, List-Owner, List-Archive, Message-ID, Sender, MIME-Version, Content-Type, Content-Transfer-Encoding", 0,
	    "[ulak] Header fields a DKIM signature covers, each as often "
	    "as present (RFC 6376 5.4.1)." },
	{ "dkim_signing_key_maps", CONFIG_TYPE_LIST, "", 0,
	    "[ulak] Tables mapping a sender domain (lower case) to "
	    "\"selector:/path/to/private-key.pem\" (several, separated by "
	    "commas, sign with each); mail leaving through smtp from local, "
	    "authenticated or mynetworks senders whose From: domain (or a "
	    "parent of it) is listed is DKIM-signed (RSA or Ed25519)." },
	{ "dkim_verify", CONFIG_TYPE_BOOL, "yes", 0,
	    "[ulak] Verify DKIM signatures of arriving mail and record "
	    "the result in Authentication-Results:." },
	{ "dkim_verify_signature_limit", CONFIG_TYPE_INT, "10", 0,
	    "[ulak] At most this many DKIM signatures of a message are "
	    "verified; the others get dkim=neutral." },
	{ "dmarc_enforce", CONFIG_TYPE_BOOL, "yes", 0,
	    "[ulak] Apply the sender domain's DMARC policy: reject for "
	    "p=reject, hold for p=quarantine; no: only record the result." },
	{ "dmarc_public_suffix_list", CONFIG_TYPE_STR, "/usr/share/publicsuffix/public_suffix_list.dat", 0,
	    "[ulak] The Public Suffix List file (Debian package "
	    "publicsuffix) that finds a domain's organizational domain "
	    "for DMARC (RFC 7489 3.2)." },
	{ "dmarc_report_data", CONFIG_TYPE_BOOL, "yes", 0,
	    "[ulak] Append one line per DMARC-evaluated message to "
	    "$data_directory/dmarc-reports.log, the data of aggregate "
	    "reports (docs/spf-dmarc.md)." },
	{ "dmarc_report_from", CONFIG_TYPE_STR, "postmaster@$mydomain", 0,
	    "[ulak] The sender (From: and envelope) of the DMARC aggregate "
	    "reports `ulak dmarc report` sends, and the email of their "
	    "report_metadata." },
	{ "dmarc_report_org_name", CONFIG_TYPE_STR, "$myhostname", 0,
	    "[ulak] The org_name of DMARC aggregate reports: who sends "
	    "them." },
	{ "dns_servers", CONFIG_TYPE_LIST, "", 0,
	    "[ulak] DNS servers the resolver asks (\"address\", "
	    "\"address@port\" or \"address:port\"); empty: those of /etc/resolv.conf." },
	{ "dns_timeout", CONFIG_TYPE_TIME, "30s", 's',
	    "[ulak] Time limit for one DNS lookup; a server that does not "
	    "answer in time is a temporary failure." },
	{ "dnssec_trust_anchor_file", CONFIG_TYPE_STR, "", 0,
	    "[ulak] A DNSSEC root trust anchor file (e.g. "
	    "/usr/share/dns/root.key); empty: no DNSSEC validation, hence "
	    "no DANE." },
	{ "double_bounce_sender", CONFIG_TYPE_STR, "double-bounce", 0,
	    "The sender of bounces about bounces; mail to it is "
	    "discarded." },
	{ "empty_address_recipient", CONFIG_TYPE_STR, "MAILER-DAEMON", 0,
	    "Where mail to the null address <> goes." },
	{ "enable_original_recipient", CONFIG_TYPE_BOOL, "yes", 0,
	    "Record each recipient's original address in the queue file "
	    "(for DSN and X-Original-To:)." },
	{ "error_notice_recipient", CONFIG_TYPE_STR, "postmaster", 0,
	    "Who gets reports about software and resource problems, with "
	    "notify_classes." },
	{ "first_valid_uid", CONFIG_TYPE_INT, "1000", 0,
	    "[ulak] The lowest uid whose mail imapd and pop3d serve through "
	    "a process of that uid (the mailuser service; Dovecot's setting "
	    "of the same name).  uid 0 is never served." },
	{ "forward_path", CONFIG_TYPE_LIST, "$home/.forward${recipient_delimiter}${extension}, $home/.forward", 0,
	    "Where the local delivery agent looks for .forward files; "
	    "$home, $user, $extension and $recipient_delimiter are "
	    "expanded per recipient (read it with config_raw)." },
	{ "greylist_auto_whitelist", CONFIG_TYPE_INT, "5", 0,
	    "[ulak] After this many successful greylisting retries a "
	    "client network is let through without delay (0: never)." },
	{ "greylist_database", CONFIG_TYPE_STR, "$data_directory/greylist.lmdb", 0,
	    "[ulak] The LMDB file that remembers greylisting triplets." },
	{ "greylist_delay", CONFIG_TYPE_TIME, "60s", 's',
	    "[ulak] How long a new (client, sender, recipient) triplet "
	    "must wait before a retry is accepted (check_greylist "
	    "restriction)." },
	{ "greylist_exempt_maps", CONFIG_TYPE_LIST, "", 0,
	    "[ulak] Tables of clients, client networks or "
	    "sender/recipient domains that are never greylisted." },
	{ "greylist_retry_window", CONFIG_TYPE_TIME, "2d", 'd',
	    "[ulak] A retry later than this after the first attempt "
	    "counts as a new triplet." },
	{ "header_checks", CONFIG_TYPE_LIST, "", 0,
	    "Tables of /pattern/ action lines applied to each message "
	    "header." },
	{ "header_size_limit", CONFIG_TYPE_SIZE, "102400", 0,
	    "At most this many bytes of message header are kept; the rest "
	    "of the header is discarded." },
	{ "home_mailbox", CONFIG_TYPE_STR, "", 0,
	    "Deliver to this file (mbox) or folder (ending in \"/\": "
	    "Maildir) under the user's home; empty: mail_spool_directory." },
	{ "hopcount_limit", CONFIG_TYPE_INT, "50", 0,
	    "Bounce a message with more Received: headers than this (a "
	    "mail loop)." },
	{ "imap_mailbox", CONFIG_TYPE_STR, "$home/Maildir", 0,
	    "[ulak] The Maildir that imapd and pop3d serve; $home and "
	    "$user are expanded per user (read it with config_raw)." },
	{ "imapd_banner", CONFIG_TYPE_STR, "$mail_name ready.", 0,
	    "[ulak] Text of imapd's greeting." },
	{ "imapd_client_connection_count_limit", CONFIG_TYPE_INT, "$smtpd_client_connection_count_limit", 0,
	    "[ulak] At most this many IMAP connections from one client "
	    "address." },
	{ "imapd_password_maps", CONFIG_TYPE_LIST, "$smtpd_sasl_password_maps", 0,
	    "[ulak] Tables (passwd-file: format, crypt(3) hashes) imapd "
	    "checks logins against." },
	{ "imapd_timeout", CONFIG_TYPE_TIME, "1800s", 's',
	    "[ulak] Idle time after which imapd ends a session (RFC 9051 "
	    "asks for at least 30 minutes)." },
	{ "imapd_tls_auth_only", CONFIG_TYPE_BOOL, "yes", 0,
	    "[ulak] Refuse LOGIN/AUTHENTICATE before STARTTLS, except "
	    "from loopback clients." },
	{ "imapd_tls_cert_file", CONFIG_TYPE_STR, "$smtpd_tls_cert_file", 0,
	    "[ulak] imapd's certificate (PEM)." },
	{ "imapd_tls_chain_files", CONFIG_TYPE_LIST, "$smtpd_tls_chain_files", 0,
	    "[ulak] imapd's key and certificate chain files (PEM)." },
	{ "imapd_tls_key_file", CONFIG_TYPE_STR, "$smtpd_tls_key_file", 0,
	    "[ulak] imapd's private key (PEM)." },
	{ "imapd_tls_wrappermode", CONFIG_TYPE_BOOL, "no", 0,
	    "[ulak] Speak TLS from the first byte (imaps, port 993) "
	    "instead of offering STARTTLS." },
	{ "inet_interfaces", CONFIG_TYPE_LIST, "all", 0,
	    "The addresses inet services listen on: all, loopback-only, "
	    "or addresses." },
	{ "inet_protocols", CONFIG_TYPE_LIST, "all", 0,
	    "The IP versions used: all, ipv4, ipv6." },
	{ "initial_destination_concurrency", CONFIG_TYPE_INT, "5", 0,
	    "How many parallel deliveries to a destination start with (it "
	    "grows up to the limit)." },
	{ "invalid_hostname_reject_code", CONFIG_TYPE_INT, "501", 0,
	    "SMTP reply code of reject_invalid_helo_hostname." },
	{ "ipc_timeout", CONFIG_TYPE_TIME, "3600s", 's',
	    "Time limit for a request between two ulak daemons." },
	{ "line_length_limit", CONFIG_TYPE_INT, "2048", 0,
	    "Longer message lines are split (smtpd, cleanup)." },
	{ "local_command_shell", CONFIG_TYPE_STR, "", 0,
	    "The shell for |command deliveries; empty: /bin/sh." },
	{ "local_destination_concurrency_limit", CONFIG_TYPE_INT, "2", 0,
	    "At most this many parallel local deliveries to one "
	    "recipient." },
	{ "local_destination_recipient_limit", CONFIG_TYPE_INT, "1", 0,
	    "Recipients per local delivery." },
	{ "local_header_rewrite_clients", CONFIG_TYPE_LIST, "permit_inet_interfaces", 0,
	    "Clients whose headers get addresses completed with "
	    "$myorigin." },
	{ "local_recipient_maps", CONFIG_TYPE_LIST, "unix:passwd.byname $alias_maps", 0,
	    "Tables of the local recipients smtpd accepts; empty: accept "
	    "any local-domain recipient." },
	{ "local_transport", CONFIG_TYPE_STR, "local:$myhostname", 0,
	    "The transport for $mydestination and $inet_interfaces "
	    "domains." },
	{ "local_user_maps", CONFIG_TYPE_LIST, "unix:passwd.byname", 0,
	    "[ulak] Where the local delivery agent finds a user's uid, "
	    "gid and home: unix:passwd.byname and/or passwd-file: tables "
	    "(users without system accounts)." },
	{ "luser_relay", CONFIG_TYPE_STR, "", 0,
	    "Where mail for unknown local users goes (empty: bounce)." },
	{ "mail_name", CONFIG_TYPE_STR, "ulak", 0,
	    "The product name in the SMTP greeting and in bounces." },
	{ "mail_owner", CONFIG_TYPE_STR, "ulak", 0,
	    "The unprivileged user the daemons run as and who owns the "
	    "queue." },
	{ "mail_spool_directory", CONFIG_TYPE_STR, "/var/mail", 0,
	    "The mbox folder (or Maildir parent, with a trailing \"/\") "
	    "used when home_mailbox is empty." },
	{ "mailbox_command", CONFIG_TYPE_STR, "", 0,
	    "A command that delivers to the mailbox instead of ulak (e.g. "
	    "procmail); run as the recipient." },
	{ "mailbox_delivery_lock", CONFIG_TYPE_LIST, "fcntl, dotlock", 0,
	    "How mbox files are locked: fcntl, flock, dotlock." },
	{ "mailbox_size_limit", CONFIG_TYPE_SIZE, "51200000", 0,
	    "The largest mbox file or single delivered message (0: no "
	    "limit)." },
	{ "mailbox_transport", CONFIG_TYPE_STR, "", 0,
	    "Hand mailbox delivery to another transport "
	    "(\"transport:nexthop\")." },
	{ "maillog_file", CONFIG_TYPE_STR, "", 0,
	    "[ulak meaning] Where logs go: empty = syslog (facility "
	    "mail), \"stderr\", or a file name." },
	{ "maps_rbl_reject_code", CONFIG_TYPE_INT, "554", 0,
	    "SMTP reply code when a client is listed by a DNS blocklist." },
	{ "max_idle", CONFIG_TYPE_TIME, "100s", 's',
	    "An idle daemon process exits after this long." },
	{ "max_use", CONFIG_TYPE_INT, "100", 0,
	    "A daemon process exits after this many clients (0: never)." },
	{ "maximal_backoff_time", CONFIG_TYPE_TIME, "4000s", 's',
	    "The longest retry interval of a deferred message." },
	{ "maximal_queue_lifetime", CONFIG_TYPE_TIME, "5d", 'd',
	    "How long a deferred message stays in the queue before it is "
	    "bounced." },
	{ "message_size_limit", CONFIG_TYPE_SIZE, "10240000", 0,
	    "The largest message accepted, in bytes, envelope included "
	    "(0: no limit)." },
	{ "mime_header_checks", CONFIG_TYPE_LIST, "$header_checks", 0,
	    "Tables applied to MIME part headers." },
	{ "minimal_backoff_time", CONFIG_TYPE_TIME, "300s", 's',
	    "The shortest retry interval of a deferred message." },
	{ "mydestination", CONFIG_TYPE_LIST, "$myhostname, localhost.$mydomain, localhost", 0,
	    "Domains delivered locally." },
	{ "mydomain", CONFIG_TYPE_STR, "(computed) $myhostname minus its first label, else localdomain", 0,
	    "The domain of this mail system." },
	{ "myhostname", CONFIG_TYPE_STR, "(computed) the machine's fully-qualified host name", 0,
	    "The host name of this mail system (HELO, Received:, "
	    "bounces)." },
	{ "mynetworks", CONFIG_TYPE_LIST, "127.0.0.0/8 [::1]/128", 0,
	    "Trusted client networks (may relay). ulak's default trusts "
	    "only loopback, a stricter reading of mynetworks_style = "
	    "host." },
	{ "mynetworks_style", CONFIG_TYPE_STR, "host", 0,
	    "Accepted for Postfix compatibility; ulak does not derive "
	    "mynetworks from it (mynetworks' default is loopback only)." },
	{ "myorigin", CONFIG_TYPE_STR, "$myhostname", 0,
	    "The domain added to local sender addresses without a domain." },
	{ "nested_header_checks", CONFIG_TYPE_LIST, "$header_checks", 0,
	    "Tables applied to the headers of attached messages." },
	{ "non_fqdn_reject_code", CONFIG_TYPE_INT, "504", 0,
	    "SMTP reply code of reject_non_fqdn_* restrictions." },
	{ "notify_classes", CONFIG_TYPE_LIST, "resource, software, 2bounce", 0,
	    "Which problems postmaster is told about: bounce, 2bounce, "
	    "delay, policy, protocol, resource, software.  ulak adds 2bounce "
	    "to Postfix's default: a bounce that cannot be delivered goes to "
	    "postmaster instead of being dropped." },
	{ "owner_request_special", CONFIG_TYPE_BOOL, "yes", 0,
	    "Treat owner-x and x-request addresses specially (owner- "
	    "alias as sender)." },
	{ "pop3d_auth_failure_delay", CONFIG_TYPE_TIME, "$smtpd_sasl_failure_delay", 's',
	    "[ulak] Pause before the reply to a failed POP3 login; it doubles "
	    "with each further failure in the session (0: none)." },
	{ "pop3d_auth_failure_delay_limit", CONFIG_TYPE_TIME, "$smtpd_sasl_failure_delay_limit", 's',
	    "[ulak] The longest pause before a failed POP3 login's reply." },
	{ "pop3d_auth_failure_limit", CONFIG_TYPE_INT, "5", 0,
	    "[ulak] Failed logins in one POP3 session after which pop3d "
	    "disconnects the client (0: no limit)." },
	{ "pop3d_banner", CONFIG_TYPE_STR, "$mail_name ready.", 0,
	    "[ulak] Text of pop3d's greeting." },
	{ "pop3d_client_connection_count_limit", CONFIG_TYPE_INT, "$smtpd_client_connection_count_limit", 0,
	    "[ulak] At most this many POP3 connections from one client "
	    "address." },
	{ "pop3d_password_maps", CONFIG_TYPE_LIST, "$smtpd_sasl_password_maps", 0,
	    "[ulak] Tables (passwd-file: format, crypt(3) hashes) pop3d "
	    "checks logins against." },
	{ "pop3d_timeout", CONFIG_TYPE_TIME, "600s", 's',
	    "[ulak] Idle time after which pop3d ends a session (RFC 1939 "
	    "asks for at least 10 minutes)." },
	{ "pop3d_tls_auth_only", CONFIG_TYPE_BOOL, "yes", 0,
	    "[ulak] Refuse USER/PASS and AUTH on a connection without TLS "
	    "(loopback clients included); no: plaintext logins are "
	    "allowed." },
	{ "pop3d_tls_cert_file", CONFIG_TYPE_STR, "$smtpd_tls_cert_file", 0,
	    "[ulak] pop3d's certificate (PEM)." },
	{ "pop3d_tls_chain_files", CONFIG_TYPE_LIST, "$smtpd_tls_chain_files", 0,
	    "[ulak] pop3d's key and certificate chain files (PEM)." },
	{ "pop3d_tls_key_file", CONFIG_TYPE_STR, "$smtpd_tls_key_file", 0,
	    "[ulak] pop3d's private key (PEM)." },
	{ "pop3d_tls_security_level", CONFIG_TYPE_STR, "may", 0,
	    "[ulak] none: no STLS; may: offer STLS when a certificate is "
	    "configured; encrypt: only CAPA, STLS and QUIT before TLS." },
	{ "pop3d_tls_wrappermode", CONFIG_TYPE_BOOL, "no", 0,
	    "[ulak] Speak TLS from the first byte (pop3s, port 995) "
	    "instead of offering STLS." },
	{ "postscreen_dnsbl_sites", CONFIG_TYPE_LIST, "", 0,
	    "DNS blocklists smtpd asks about each client (\"zone\", "
	    "\"zone=127.0.0.2\", \"zone*weight\")." },
	{ "postscreen_dnsbl_threshold", CONFIG_TYPE_INT, "1", 0,
	    "Reject a client whose summed DNSBL weights reach this." },
	{ "prepend_delivered_header", CONFIG_TYPE_LIST, "command, file, forward", 0,
	    "Deliveries that get a Delivered-To: header." },
	{ "process_id_directory", CONFIG_TYPE_STR, "pid", 0,
	    "The folder (relative to queue_directory) of master.pid." },
	{ "propagate_unmatched_extensions", CONFIG_TYPE_LIST, "canonical, virtual", 0,
	    "Address rewriting that keeps an address extension "
	    "(user+ext)." },
	{ "proxy_interfaces", CONFIG_TYPE_LIST, "", 0,
	    "Addresses that reach this host through a proxy or NAT (count "
	    "as local)." },
	{ "qmgr_message_active_limit", CONFIG_TYPE_INT, "20000", 0,
	    "At most this many messages in the active queue." },
	{ "qmgr_message_recipient_limit", CONFIG_TYPE_INT, "20000", 0,
	    "At most this many recipients held in memory by the queue "
	    "manager." },
	{ "queue_directory", CONFIG_TYPE_STR, "/var/spool/ulak", 0,
	    "The queue: maildrop, incoming, active, deferred, hold, "
	    "corrupt, private, pid." },
	{ "queue_minfree", CONFIG_TYPE_SIZE, "0", 0,
	    "Refuse mail when the queue file system has less free space "
	    "than this (0: 1.5 times message_size_limit)." },
	{ "queue_run_delay", CONFIG_TYPE_TIME, "300s", 's',
	    "How often the deferred queue is scanned." },
	{ "readme_directory", CONFIG_TYPE_STR, "no", 0,
	    "Accepted for Postfix compatibility (Debian's main.cf sets "
	    "it); ignored." },
	{ "receive_override_options", CONFIG_TYPE_LIST, "", 0,
	    "Switch off cleanup features: no_header_body_checks, "
	    "no_address_mappings, no_unknown_recipient_checks." },
	{ "recipient_canonical_maps", CONFIG_TYPE_LIST, "", 0,
	    "Address rewriting tables for recipient addresses." },
	{ "recipient_delimiter", CONFIG_TYPE_STR, "", 0,
	    "Characters that separate a user name from an extension "
	    "(user+ext); empty: no extensions." },
	{ "reject_code", CONFIG_TYPE_INT, "554", 0,
	    "SMTP reply code of the reject restriction." },
	{ "relay_domains", CONFIG_TYPE_LIST, "", 0,
	    "Domains this server relays to (from anyone); Postfix 3 "
	    "default: none." },
	{ "relay_domains_reject_code", CONFIG_TYPE_INT, "554", 0,
	    "SMTP reply code when relaying is denied." },
	{ "relay_recipient_maps", CONFIG_TYPE_LIST, "", 0,
	    "Valid recipients of relay_domains (empty: accept any)." },
	{ "relay_transport", CONFIG_TYPE_STR, "relay", 0,
	    "The transport for relay_domains." },
	{ "relayhost", CONFIG_TYPE_STR, "", 0,
	    "Send all non-local mail to this host (\"[host]:port\" skips "
	    "the MX lookup); empty: direct delivery." },
	{ "require_home_directory", CONFIG_TYPE_BOOL, "no", 0,
	    "Defer delivery when the recipient's home folder does not "
	    "exist." },
	{ "sender_canonical_maps", CONFIG_TYPE_LIST, "", 0,
	    "Address rewriting tables for sender addresses." },
	{ "service_throttle_time", CONFIG_TYPE_TIME, "60s", 's',
	    "How long master waits before restarting a service that "
	    "failed at start-up." },
	{ "setgid_group", CONFIG_TYPE_STR, "ulakdrop", 0,
	    "The group that owns maildrop/ and lets `ulak sendmail` write "
	    "there (Postfix: postdrop)." },
	{ "smtp_bind_address", CONFIG_TYPE_STR, "", 0,
	    "Local IPv4 address for outgoing SMTP connections." },
	{ "smtp_bind_address6", CONFIG_TYPE_STR, "", 0,
	    "Local IPv6 address for outgoing SMTP connections." },
	{ "smtp_connect_timeout", CONFIG_TYPE_TIME, "30s", 's',
	    "Time limit for the TCP connection to a remote server." },
	{ "smtp_connection_cache_time_limit", CONFIG_TYPE_TIME, "2s", 's',
	    "How long the smtp agent keeps an idle connection open for the "
	    "next delivery to the same next hop (0: none)." },
	{ "smtp_data_done_timeout", CONFIG_TYPE_TIME, "600s", 's',
	    "Time limit for the answer to the final \".\" of the message." },
	{ "smtp_data_init_timeout", CONFIG_TYPE_TIME, "120s", 's',
	    "Time limit for the answer to DATA." },
	{ "smtp_data_xfer_timeout", CONFIG_TYPE_TIME, "180s", 's',
	    "Time limit for sending one piece of message content." },
	{ "smtp_destination_concurrency_limit", CONFIG_TYPE_INT, "$default_destination_concurrency_limit", 0,
	    "Parallel deliveries to one destination by the smtp "
	    "transport." },
	{ "smtp_destination_recipient_limit", CONFIG_TYPE_INT, "$default_destination_recipient_limit", 0,
	    "Recipients per delivery by the smtp transport." },
	{ "smtp_fallback_relay", CONFIG_TYPE_LIST, "", 0,
	    "Hosts that get mail that cannot be delivered to the primary "
	    "MX hosts." },
	{ "smtp_helo_name", CONFIG_TYPE_STR, "$myhostname", 0,
	    "The name sent in HELO/EHLO." },
	{ "smtp_helo_timeout", CONFIG_TYPE_TIME, "300s", 's',
	    "Time limit for the greeting and for the answer to HELO/EHLO." },
	{ "smtp_line_length_limit", CONFIG_TYPE_INT, "999", 0,
	    "Longer lines are folded when sent (RFC 5322 2.1.1 limit of "
	    "998 plus CR LF)." },
	{ "smtp_mail_timeout", CONFIG_TYPE_TIME, "300s", 's',
	    "Time limit for the answer to MAIL FROM." },
	{ "smtp_mx_address_limit", CONFIG_TYPE_INT, "5", 0,
	    "At most this many MX host addresses are tried per delivery." },
	{ "smtp_mx_session_limit", CONFIG_TYPE_INT, "2", 0,
	    "At most this many SMTP sessions per delivery." },
	{ "smtp_quit_timeout", CONFIG_TYPE_TIME, "300s", 's',
	    "Time limit for the answer to QUIT." },
	{ "smtp_rcpt_timeout", CONFIG_TYPE_TIME, "300s", 's',
	    "Time limit for the answer to RCPT TO." },
	{ "smtp_sasl_auth_enable", CONFIG_TYPE_BOOL, "no", 0,
	    "Authenticate to remote servers (relayhost) with "
	    "smtp_sasl_password_maps." },
	{ "smtp_sasl_password_maps", CONFIG_TYPE_LIST, "", 0,
	    "Tables mapping a next-hop to \"user:password\"." },
	{ "smtp_starttls_timeout", CONFIG_TYPE_TIME, "300s", 's',
	    "Time limit for the TLS handshake after STARTTLS." },
	{ "smtp_tcp_port", CONFIG_TYPE_INT, "25", 0,
	    "The port the smtp transport connects to when the next hop "
	    "names none." },
	{ "smtp_tls_CAfile", CONFIG_TYPE_STR, "", 0,
	    "Trusted CA certificates (PEM) for verifying servers; empty: "
	    "the system's store." },
	{ "smtp_tls_CApath", CONFIG_TYPE_STR, "", 0,
	    "A folder of trusted CA certificates." },
	{ "smtp_tls_cert_file", CONFIG_TYPE_STR, "", 0,
	    "Client certificate (PEM), rarely needed." },
	{ "smtp_tls_key_file", CONFIG_TYPE_STR, "$smtp_tls_cert_file", 0,
	    "Client private key (PEM)." },
	{ "smtp_tls_loglevel", CONFIG_TYPE_INT, "0", 0,
	    "TLS logging of the SMTP client: 0 none, 1 summary, 2 "
	    "handshake." },
	{ "smtp_tls_policy_maps", CONFIG_TYPE_LIST, "", 0,
	    "Per-destination TLS levels (none, may, encrypt, dane, "
	    "verify, secure)." },
	{ "smtp_tls_security_level", CONFIG_TYPE_STR, "may", 0,
	    "TLS when sending: none, may (opportunistic), encrypt, dane, "
	    "verify, secure (Postfix's default is empty; ulak's is may)." },
	{ "smtp_tls_session_cache_database", CONFIG_TYPE_STR, "", 0,
	    "Accepted for Postfix compatibility; ulak caches TLS sessions "
	    "in memory." },
	{ "smtpd_banner", CONFIG_TYPE_STR, "$myhostname ESMTP $mail_name", 0,
	    "Text after 220 in the SMTP greeting." },
	{ "smtpd_client_auth_rate_limit", CONFIG_TYPE_INT, "0", 0,
	    "At most this many AUTH commands per anvil_rate_time_unit from "
	    "one client (0: no limit)." },
	{ "smtpd_client_connection_count_limit", CONFIG_TYPE_INT, "50", 0,
	    "At most this many simultaneous connections from one client "
	    "address (0: no limit)." },
	{ "smtpd_client_connection_rate_limit", CONFIG_TYPE_INT, "0", 0,
	    "At most this many connections per anvil_rate_time_unit from "
	    "one client (0: no limit)." },
	{ "smtpd_client_event_limit_exceptions", CONFIG_TYPE_LIST,
	    "$mynetworks", 0,
	    "Clients exempt from the smtpd_client_*_count/rate_limit "
	    "limits (networks as in mynetworks, or type:table)." },
	{ "smtpd_client_ipv4_prefix_length", CONFIG_TYPE_INT, "32", 0,
	    "IPv4 clients are counted for the smtpd_client_*_limit limits "
	    "per network of this prefix length (32: per address)." },
	{ "smtpd_client_ipv6_prefix_length", CONFIG_TYPE_INT, "84", 0,
	    "IPv6 clients are counted for the smtpd_client_*_limit limits "
	    "per network of this prefix length (128: per address)." },
	{ "smtpd_client_message_rate_limit", CONFIG_TYPE_INT, "0", 0,
	    "At most this many MAIL FROM commands per anvil_rate_time_unit "
	    "from one client, accepted or not (0: no limit)." },
	{ "smtpd_client_new_tls_session_rate_limit", CONFIG_TYPE_INT, "0", 0,
	    "At most this many new (not resumed) TLS sessions per "
	    "anvil_rate_time_unit from one client (0: no limit)." },
	{ "smtpd_client_recipient_rate_limit", CONFIG_TYPE_INT, "0", 0,
	    "At most this many RCPT TO commands per anvil_rate_time_unit "
	    "from one client, accepted or not (0: no limit)." },
	{ "smtpd_client_restrictions", CONFIG_TYPE_LIST, "", 0,
	    "Restrictions applied to the client at connection time "
	    "(evaluated at RCPT TO while smtpd_delay_reject = yes)." },
	{ "smtpd_data_restrictions", CONFIG_TYPE_LIST, "", 0,
	    "Restrictions applied to DATA." },
	{ "smtpd_delay_reject", CONFIG_TYPE_BOOL, "yes", 0,
	    "Evaluate client, HELO and sender restrictions at RCPT TO." },
	{ "smtpd_discard_ehlo_keywords", CONFIG_TYPE_LIST, "", 0,
	    "EHLO keywords not announced (e.g. pipelining, chunking)." },
	{ "smtpd_end_of_data_restrictions", CONFIG_TYPE_LIST, "", 0,
	    "Restrictions applied after the message content." },
	{ "smtpd_error_sleep_time", CONFIG_TYPE_TIME, "1s", 's',
	    "Pause before an error reply once smtpd_soft_error_limit is "
	    "reached." },
	{ "smtpd_forbid_bare_newline", CONFIG_TYPE_STR, "reject", 0,
	    "Bare LF or CR in SMTP input (smuggling defence): reject (550 "
	    "5.5.2, the ulak default; also yes), normalize (store as CR LF), "
	    "no." },
	{ "smtpd_forbid_bare_newline_exclusions", CONFIG_TYPE_LIST, "$mynetworks", 0,
	    "Clients excluded from smtpd_forbid_bare_newline = yes." },
	{ "smtpd_forbid_unauth_pipelining", CONFIG_TYPE_BOOL, "yes", 0,
	    "Drop clients that send commands before the greeting or "
	    "pipeline without permission." },
	{ "smtpd_hard_error_limit", CONFIG_TYPE_INT, "20", 0,
	    "Disconnect a client after this many errors." },
	{ "smtpd_helo_required", CONFIG_TYPE_BOOL, "no", 0,
	    "Require HELO or EHLO before MAIL FROM." },
	{ "smtpd_helo_restrictions", CONFIG_TYPE_LIST, "", 0,
	    "Restrictions applied to the HELO/EHLO name." },
	{ "smtpd_junk_command_limit", CONFIG_TYPE_INT, "100", 0,
	    "At most this many NOOP, RSET, VRFY and similar commands per "
	    "session." },
	{ "smtpd_peername_lookup", CONFIG_TYPE_BOOL, "yes", 0,
	    "Look up the client's name (PTR and forward confirmation)." },
	{ "smtpd_recipient_limit", CONFIG_TYPE_INT, "1000", 0,
	    "At most this many recipients per message." },
	{ "smtpd_recipient_overshoot_limit", CONFIG_TYPE_INT, "1000", 0,
	    "Extra recipients (beyond the limit) that count as errors." },
	{ "smtpd_recipient_restrictions", CONFIG_TYPE_LIST, "", 0,
	    "Restrictions applied at RCPT TO, after "
	    "smtpd_relay_restrictions (spam policy)." },
	{ "smtpd_reject_unlisted_recipient", CONFIG_TYPE_BOOL, "yes", 0,
	    "Reject RCPT TO addresses that no table knows "
	    "(local_recipient_maps etc.)." },
	{ "smtpd_reject_unlisted_sender", CONFIG_TYPE_BOOL, "no", 0,
	    "Reject MAIL FROM addresses of our domains that no table "
	    "knows." },
	{ "smtpd_relay_restrictions", CONFIG_TYPE_LIST, "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination", 0,
	    "Relay control at RCPT TO: mail to other domains is accepted "
	    "only from trusted or authenticated clients." },
	{ "smtpd_sasl_auth_enable", CONFIG_TYPE_BOOL, "no", 0,
	    "Offer SMTP AUTH (PLAIN, LOGIN)." },
	{ "smtpd_sasl_authenticated_header", CONFIG_TYPE_BOOL, "no", 0,
	    "Name the SASL login in the Received: header." },
	{ "smtpd_sasl_failure_delay", CONFIG_TYPE_TIME, "1s", 's',
	    "[ulak] Pause before the reply to a failed AUTH; it doubles "
	    "with each further failure of the client address within "
	    "anvil_rate_time_unit (0: none)." },
	{ "smtpd_sasl_failure_delay_limit", CONFIG_TYPE_TIME, "16s", 's',
	    "[ulak] The longest pause before a failed AUTH's reply." },
	{ "smtpd_sasl_failure_limit", CONFIG_TYPE_INT, "10", 0,
	    "[ulak] Failed AUTH attempts per client address within "
	    "anvil_rate_time_unit after which the client gets 421 and is "
	    "disconnected (0: no limit)." },
	{ "smtpd_sasl_password_maps", CONFIG_TYPE_LIST, "", 0,
	    "[ulak] Tables (passwd-file: format, crypt(3) hashes) SMTP "
	    "AUTH checks against (ulak's built-in SASL server)." },
	{ "smtpd_sasl_security_options", CONFIG_TYPE_LIST, "noanonymous", 0,
	    "SASL mechanism restrictions without TLS." },
	{ "smtpd_sasl_tls_security_options", CONFIG_TYPE_LIST, "$smtpd_sasl_security_options", 0,
	    "SASL mechanism restrictions with TLS." },
	{ "smtpd_sender_login_maps", CONFIG_TYPE_LIST, "", 0,
	    "Tables mapping a sender address to the SASL logins that may "
	    "use it." },
	{ "smtpd_sender_restrictions", CONFIG_TYPE_LIST, "reject_unauth_local_sender", 0,
	    "Restrictions applied to MAIL FROM. "
	    "reject_unauth_local_sender ([ulak]) refuses a sender in our "
	    "own domains from a client that is neither in mynetworks nor "
	    "authenticated." },
	{ "smtpd_soft_error_limit", CONFIG_TYPE_INT, "10", 0,
	    "After this many errors every reply is delayed by "
	    "smtpd_error_sleep_time." },
	{ "smtpd_starttls_timeout", CONFIG_TYPE_TIME, "300s", 's',
	    "Time limit for the TLS handshake after STARTTLS." },
	{ "smtpd_timeout", CONFIG_TYPE_TIME, "300s", 's',
	    "Time limit for a client command or data block." },
	{ "smtpd_tls_CAfile", CONFIG_TYPE_STR, "", 0,
	    "CA certificates for client certificates." },
	{ "smtpd_tls_auth_only", CONFIG_TYPE_BOOL, "yes", 0,
	    "Offer AUTH only after STARTTLS (ulak's default is yes; "
	    "Postfix's is no)." },
	{ "smtpd_tls_cert_file", CONFIG_TYPE_STR, "", 0,
	    "smtpd's certificate (PEM)." },
	{ "smtpd_tls_chain_files", CONFIG_TYPE_LIST, "", 0,
	    "smtpd's private key and certificate chain files (PEM), in "
	    "that order." },
	{ "smtpd_tls_key_file", CONFIG_TYPE_STR, "$smtpd_tls_cert_file", 0,
	    "smtpd's private key (PEM)." },
	{ "smtpd_tls_loglevel", CONFIG_TYPE_INT, "0", 0,
	    "TLS logging of smtpd: 0 none, 1 summary, 2 handshake." },
	{ "smtpd_tls_received_header", CONFIG_TYPE_BOOL, "no", 0,
	    "Record the TLS protocol and cipher in the Received: header." },
	{ "smtpd_tls_security_level", CONFIG_TYPE_STR, "", 0,
	    "TLS in smtpd: empty or none (no STARTTLS), may (offered), "
	    "encrypt (required)." },
	{ "smtpd_tls_session_cache_database", CONFIG_TYPE_STR, "", 0,
	    "Accepted for Postfix compatibility; ulak caches TLS sessions "
	    "in memory." },
	{ "smtpd_tls_wrappermode", CONFIG_TYPE_BOOL, "no", 0,
	    "Speak TLS from the first byte (submissions, port 465)." },
	{ "smtputf8_enable", CONFIG_TYPE_BOOL, "yes", 0,
	    "Offer SMTPUTF8 (RFC 6531)." },
	{ "soft_bounce", CONFIG_TYPE_BOOL, "no", 0,
	    "Turn every bounce into a deferral (for testing a new setup)." },
	{ "spf_reject_on", CONFIG_TYPE_STR, "fail", 0,
	    "[ulak] Which SPF results (RFC 7208) of MAIL FROM check_spf "
	    "rejects: fail (fail only), softfail (fail and softfail) or "
	    "never (only record them in Received-SPF:)." },
	{ "strict_rfc821_envelopes", CONFIG_TYPE_BOOL, "no", 0,
	    "Require <> around MAIL FROM and RCPT TO addresses and "
	    "nothing else." },
	{ "syslog_facility", CONFIG_TYPE_STR, "mail", 0,
	    "The syslog facility." },
	{ "syslog_name", CONFIG_TYPE_STR, "ulak", 0,
	    "The name in front of each log line (ulak/smtpd[pid])." },
	{ "transport_maps", CONFIG_TYPE_LIST, "", 0,
	    "Tables mapping a domain or address to \"transport:nexthop\"." },
	{ "trigger_timeout", CONFIG_TYPE_TIME, "10s", 's',
	    "Time limit for waking up a daemon through its socket." },
	{ "unknown_address_reject_code", CONFIG_TYPE_INT, "450", 0,
	    "SMTP reply code of reject_unknown_sender_domain and "
	    "reject_unknown_recipient_domain." },
	{ "unknown_client_reject_code", CONFIG_TYPE_INT, "550", 0,
	    "[ulak default] SMTP reply code of "
	    "reject_unknown_client_hostname and "
	    "reject_unknown_reverse_client_hostname when DNS answered "
	    "(a temporary DNS failure always gives 450; Postfix's default "
	    "is 450)." },
	{ "unknown_hostname_reject_code", CONFIG_TYPE_INT, "450", 0,
	    "SMTP reply code of reject_unknown_helo_hostname." },
	{ "unknown_local_recipient_reject_code", CONFIG_TYPE_INT, "550", 0,
	    "SMTP reply code for an unknown recipient in a local domain." },
	{ "unknown_relay_recipient_reject_code", CONFIG_TYPE_INT, "550", 0,
	    "SMTP reply code for an unknown recipient in relay_domains." },
	{ "unknown_virtual_alias_reject_code", CONFIG_TYPE_INT, "550", 0,
	    "SMTP reply code for an unknown recipient in "
	    "virtual_alias_domains." },
	{ "virtual_alias_domains", CONFIG_TYPE_LIST, "$virtual_alias_maps", 0,
	    "Domains whose every address is an alias in "
	    "virtual_alias_maps." },
	{ "virtual_alias_maps", CONFIG_TYPE_LIST, "", 0,
	    "Tables rewriting recipient addresses to other addresses (any "
	    "domain)." },
};

const struct config_param_def *
config_param_defs(size_t *n_r)
{
	*n_r = sizeof(config_param_table) / sizeof(config_param_table[0]);
	return config_param_table;
}

static int
config_param_cmp(const void *key, const void *elem)
{
	const struct config_param_def *def = elem;

	return strcmp(key, def->name);
}

const struct config_param_def *
config_param_find(const char *name)
{
	size_t n = sizeof(config_param_table) / sizeof(config_param_table[0]);

	return bsearch(name, config_param_table, n,
	    sizeof(config_param_table[0]), config_param_cmp);
}

bool
config_param_is_computed(const struct config_param_def *def)
{
	return strncmp(def->def, CONFIG_DEF_COMPUTED,
	    strlen(CONFIG_DEF_COMPUTED)) == 0;
}
