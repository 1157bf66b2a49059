/* mailferry - the folder plan: which source folder goes where on the target
 *
 * Pure logic (no I/O), so every rule is unit-tested:
 *  - names are decoded from modified UTF-7 and split on the source's
 *    delimiter; the personal namespace prefix ("INBOX." on Courier-style
 *    servers) and the UserRoot are removed;
 *  - special folders are recognised by SPECIAL-USE attribute or, failing
 *    that, by well-known names (Sent, Sent Items, Sent Messages, Gesendete
 *    Elemente, Trash, Deleted Items, Papierkorb, Junk, Spam, Drafts,
 *    Entwürfe, Archive, ...) and land in the target's own special folders:
 *    by the target's SPECIAL-USE attributes, or Exchange's names (Sent Items,
 *    Deleted Items, Junk Email, Drafts, Archive) when the target is Exchange;
 *  - a name part holding the target's delimiter gets '_' in its place;
 *  - on a case-insensitive target (Exchange) two folders whose names differ
 *    only by case would collide: the second gets " (2)"; Exchange's reserved
 *    top-level name "Files" becomes "Files (migrated)"; every rename is noted;
 *  - exclusions follow New-MigrationBatch -ExcludeFolders: names relative to
 *    the root, case-insensitive, no wildcards, "Name" plus "/" and "*" for a folder and its
 *    subfolders, "#SentItems#" style well-known names, "\#" for a literal #.
 */
#ifndef MF_ENGINE_PLAN_H
#define MF_ENGINE_PLAN_H

#include <stddef.h>

struct imap_folder;
struct mf_err;

enum folder_role {
	ROLE_NONE = 0,
	ROLE_INBOX,
	ROLE_SENT,
	ROLE_TRASH,
	ROLE_JUNK,
	ROLE_DRAFTS,
	ROLE_ARCHIVE,
};
const char *folder_role_name(enum folder_role r); /* "Sent Items" style label */

struct plan_input {
	const struct imap_folder *src;
	size_t nsrc;
	char src_delim;          /* 0: take each folder's own */
	const char *src_prefix;  /* personal namespace prefix, "" or NULL when none */
	const char *src_root;    /* UserRoot, or NULL */
	const struct imap_folder *tgt;
	size_t ntgt;
	char tgt_delim;          /* 0: '/' */
	const char *tgt_prefix;  /* personal namespace prefix on the target */
	int target_exchange;     /* Exchange naming, reserved names, case-insensitive */
	char *const *exclude;
	size_t nexclude;
};

struct plan_folder {
	char *src_name;      /* owned: wire name on the source */
	char *display;       /* owned: "Projects/2024" (UTF-8, '/' separated, relative) */
	char *tgt_name;      /* owned: wire name on the target (NULL when failed) */
	char *tgt_display;   /* owned: the target path for people */
	enum folder_role role;
	int selectable;      /* holds messages (not \Noselect) */
	int subscribed;
	int excluded;
	int exists_on_target;
	int failed;          /* the name cannot be migrated (note says why) */
	char *note;          /* owned: "renamed: ...", "excluded", or the failure, or NULL */
};

/* Builds the plan, sorted by source display path.  -1 only on out-of-memory. */
int plan_build(const struct plan_input *in, struct plan_folder **out, size_t *n,
	       struct mf_err *err);
void plan_free(struct plan_folder *v, size_t n);
/* Whether display (a source path) is excluded by the -ExcludeFolders list. */
int plan_excluded(const char *display, enum folder_role role, char *const *exclude,
		  size_t nexclude);

#endif
