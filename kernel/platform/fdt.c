/*
 * kernel/platform/fdt.c - opening, validating and walking a device tree blob (see fdt.h).
 *
 * Everything reads through read_token(), which bounds-checks one token of the
 * structure block and decodes it. Loops advance one token (>= 4 bytes) per step, so
 * they end within struct_bytes / 4 steps whatever the input.
 */
#include "kernel/platform/fdt.h"

#include "kernel/base/errors.h"
#include "kernel/base/string.h"

/* Byte offsets of the header fields (all big-endian u32). */
enum header_field {
    HEADER_MAGIC = 0,
    HEADER_TOTALSIZE = 4,
    HEADER_OFF_DT_STRUCT = 8,
    HEADER_OFF_DT_STRINGS = 12,
    HEADER_OFF_MEM_RSVMAP = 16,
    HEADER_VERSION = 20,
    HEADER_LAST_COMP_VERSION = 24,
    HEADER_BOOT_CPUID_PHYS = 28,
    HEADER_SIZE_DT_STRINGS = 32,
    HEADER_SIZE_DT_STRUCT = 36,
};

#define FIRST_SUPPORTED_VERSION 16u
#define LAST_SUPPORTED_VERSION 17u
#define VERSION_16_HEADER_BYTES 36u
#define MEMRESERVE_ENTRY_BYTES 16u
#define TOKEN_BYTES 4u
#define PROP_HEADER_BYTES 12u          /* token, value length, name offset */
#define LARGEST_BLOB_BYTES 0x7fffffffu /* node offsets are ints */

static uint32_t read_be32(const uint8_t *bytes)
{
    return (uint32_t)bytes[0] << 24 | (uint32_t)bytes[1] << 16 | (uint32_t)bytes[2] << 8 | bytes[3];
}

static uint64_t read_be64(const uint8_t *bytes)
{
    return (uint64_t)read_be32(bytes) << 32 | read_be32(bytes + 4);
}

static uint32_t align_up4(uint32_t value)
{
    return (value + 3u) & ~3u;
}

/* True when [offset, offset + length) lies inside [0, limit); no overflow possible. */
static bool span_fits(uint32_t offset, uint32_t length, uint32_t limit)
{
    return offset <= limit && length <= limit - offset;
}

/* ---- Opening ----------------------------------------------------------------------- */

static int reject(struct fdt *fdt, const char *reason)
{
    fdt->invalid_reason = reason;
    return -E_BADDATA;
}

/* Counts memory reservation entries up to the size-0 terminator, which must fit. */
static int count_memreserve(struct fdt *fdt)
{
    uint32_t offset = fdt->memreserve_offset;
    for (uint32_t count = 0;; count++, offset += MEMRESERVE_ENTRY_BYTES) {
        if (!span_fits(offset, MEMRESERVE_ENTRY_BYTES, fdt->total_bytes))
            return reject(fdt, "memory reservation block not terminated");
        if (read_be64(fdt->blob + offset + 8) == 0) {
            fdt->memreserve_count = count;
            return 0;
        }
    }
}

/* Checks the header and the placement of the three blocks; fills fdt. */
static int check_header(struct fdt *fdt, const uint8_t *blob, size_t max_bytes)
{
    if (max_bytes < VERSION_16_HEADER_BYTES)
        return reject(fdt, "shorter than a header");
    if (read_be32(blob + HEADER_MAGIC) != FDT_MAGIC)
        return reject(fdt, "bad magic");
    fdt->version = read_be32(blob + HEADER_VERSION);
    if (fdt->version < FIRST_SUPPORTED_VERSION || read_be32(blob + HEADER_LAST_COMP_VERSION) > LAST_SUPPORTED_VERSION)
        return reject(fdt, "unsupported version");
    uint32_t header_bytes = fdt->version >= 17 ? FDT_HEADER_BYTES : VERSION_16_HEADER_BYTES;
    if (max_bytes < header_bytes)
        return reject(fdt, "shorter than a header");

    fdt->total_bytes = read_be32(blob + HEADER_TOTALSIZE);
    if (fdt->total_bytes < header_bytes || fdt->total_bytes > max_bytes || fdt->total_bytes > LARGEST_BLOB_BYTES)
        return reject(fdt, "totalsize out of range");
    fdt->boot_cpuid = read_be32(blob + HEADER_BOOT_CPUID_PHYS);

    fdt->memreserve_offset = read_be32(blob + HEADER_OFF_MEM_RSVMAP);
    if (fdt->memreserve_offset < header_bytes || fdt->memreserve_offset % 8 != 0)
        return reject(fdt, "memory reservation block misplaced or unaligned");

    fdt->struct_offset = read_be32(blob + HEADER_OFF_DT_STRUCT);
    if (fdt->struct_offset < header_bytes || fdt->struct_offset > fdt->total_bytes || fdt->struct_offset % 4 != 0)
        return reject(fdt, "structure block misplaced or unaligned");
    /* Version 16 has no size_dt_struct: the block may run to the end of the blob. */
    uint32_t struct_bytes =
        fdt->version >= 17 ? read_be32(blob + HEADER_SIZE_DT_STRUCT) : fdt->total_bytes - fdt->struct_offset;
    if (!span_fits(fdt->struct_offset, struct_bytes, fdt->total_bytes))
        return reject(fdt, "structure block past totalsize");

    uint32_t strings_offset = read_be32(blob + HEADER_OFF_DT_STRINGS);
    uint32_t strings_bytes = read_be32(blob + HEADER_SIZE_DT_STRINGS);
    if (strings_offset < header_bytes || !span_fits(strings_offset, strings_bytes, fdt->total_bytes))
        return reject(fdt, "strings block past totalsize");

    fdt->blob = blob;
    int error = count_memreserve(fdt);
    if (error < 0)
        return error;
    /* Only now enable token reads: until here struct_bytes = 0 makes every read fail. */
    fdt->strings_offset = strings_offset;
    fdt->strings_bytes = strings_bytes;
    fdt->struct_bytes = struct_bytes;
    return 0;
}

/* ---- Tokens ------------------------------------------------------------------------ */

/* One decoded, bounds-checked token of the structure block. */
struct token {
    uint32_t kind;        /* enum fdt_token */
    uint32_t next_offset; /* offset of the following token */
    const char *name;     /* BEGIN_NODE: node name; PROP: property name (NUL-terminated) */
    uint32_t name_bytes;  /* strlen(name) */
    const uint8_t *value; /* PROP: the value */
    uint32_t value_bytes;
};

static int read_begin_node(const struct fdt *fdt, uint32_t offset, struct token *token)
{
    uint32_t name_offset = offset + TOKEN_BYTES;
    uint32_t room = fdt->struct_bytes - name_offset;
    token->name = (const char *)fdt->blob + fdt->struct_offset + name_offset;
    token->name_bytes = (uint32_t)strnlen(token->name, room);
    if (token->name_bytes == room)
        return -E_BADDATA; /* no NUL before the end of the structure block */
    token->next_offset = align_up4(name_offset + token->name_bytes + 1);
    return 0;
}

static int read_property(const struct fdt *fdt, uint32_t offset, struct token *token)
{
    if (!span_fits(offset, PROP_HEADER_BYTES, fdt->struct_bytes))
        return -E_BADDATA;
    const uint8_t *header = fdt->blob + fdt->struct_offset + offset;
    token->value_bytes = read_be32(header + 4);
    uint32_t name_offset = read_be32(header + 8);
    uint32_t value_offset = offset + PROP_HEADER_BYTES;
    if (!span_fits(value_offset, token->value_bytes, fdt->struct_bytes))
        return -E_BADDATA;
    if (name_offset >= fdt->strings_bytes)
        return -E_BADDATA;
    uint32_t room = fdt->strings_bytes - name_offset;
    token->name = (const char *)fdt->blob + fdt->strings_offset + name_offset;
    token->name_bytes = (uint32_t)strnlen(token->name, room);
    if (token->name_bytes == room)
        return -E_BADDATA; /* name runs past the strings block */
    token->value = header + PROP_HEADER_BYTES;
    token->next_offset = align_up4(value_offset + token->value_bytes);
    return 0;
}

/* Decodes the token at offset. Returns 0 or -E_BADDATA (out of bounds, unknown token...). */
static int read_token(const struct fdt *fdt, uint32_t offset, struct token *token)
{
    if (offset % 4 != 0 || !span_fits(offset, TOKEN_BYTES, fdt->struct_bytes))
        return -E_BADDATA;
    token->kind = read_be32(fdt->blob + fdt->struct_offset + offset);
    token->next_offset = offset + TOKEN_BYTES;
    token->name = NULL;
    token->name_bytes = 0;
    token->value = NULL;
    token->value_bytes = 0;
    int error;
    switch (token->kind) {
    case FDT_BEGIN_NODE: error = read_begin_node(fdt, offset, token); break;
    case FDT_PROP: error = read_property(fdt, offset, token); break;
    case FDT_END_NODE:
    case FDT_NOP:
    case FDT_END: error = 0; break;
    default: error = -E_BADDATA; break;
    }
    /* Every walk relies on this: each token moves forward, so loops end (checks above imply it). */
    if (error == 0 && token->next_offset <= offset)
        error = -E_BADDATA;
    return error;
}

/* Reads the BEGIN_NODE token of a caller-supplied node. -E_INVAL if node is not one. */
static int read_node(const struct fdt *fdt, int node, struct token *token)
{
    if (node < 0)
        return -E_INVAL;
    int error = read_token(fdt, (uint32_t)node, token);
    if (error < 0)
        return error;
    return token->kind == FDT_BEGIN_NODE ? 0 : -E_INVAL;
}

/*
 * Walks the whole structure block once: one root, balanced nodes no deeper than
 * FDT_MAX_DEPTH, properties only inside a node and before its children, FDT_END last.
 */
static int check_structure(struct fdt *fdt)
{
    uint32_t offset = 0;
    uint32_t previous_kind = FDT_END; /* last token other than NOP */
    int depth = 0;
    bool seen_root = false;
    for (;;) {
        struct token token;
        if (read_token(fdt, offset, &token) < 0)
            return reject(fdt, "structure block: bad token, name or property bounds");
        switch (token.kind) {
        case FDT_BEGIN_NODE:
            if (depth == 0 && seen_root)
                return reject(fdt, "structure block: more than one root");
            if (++depth > FDT_MAX_DEPTH)
                return reject(fdt, "structure block: nodes nested too deep");
            seen_root = true;
            break;
        case FDT_END_NODE:
            if (depth-- == 0)
                return reject(fdt, "structure block: unbalanced END_NODE");
            break;
        case FDT_PROP:
            if (depth == 0 || (previous_kind != FDT_BEGIN_NODE && previous_kind != FDT_PROP))
                return reject(fdt, "structure block: property outside a node or after a child");
            break;
        case FDT_END:
            if (!seen_root || depth != 0)
                return reject(fdt, "structure block: END before the tree is complete");
            return 0;
        }
        if (token.kind != FDT_NOP)
            previous_kind = token.kind;
        offset = token.next_offset;
    }
}

int fdt_open(struct fdt *fdt, const void *blob, size_t max_bytes)
{
    if (fdt == NULL)
        return -E_INVAL;
    memset(fdt, 0, sizeof(*fdt));
    if (blob == NULL) {
        fdt->invalid_reason = "no blob";
        return -E_INVAL;
    }
    int error = check_header(fdt, blob, max_bytes);
    if (error == 0)
        error = check_structure(fdt);
    if (error < 0) {
        const char *reason = fdt->invalid_reason;
        memset(fdt, 0, sizeof(*fdt));
        fdt->invalid_reason = reason;
    }
    return error;
}

size_t fdt_total_bytes(const struct fdt *fdt)
{
    return fdt->total_bytes;
}

const char *fdt_strerror(int code)
{
    switch (code) {
    case 0: return "success";
    case -E_BADDATA: return "malformed or unsupported device tree";
    case -E_NOENT: return "no such node or property";
    case -E_RANGE: return "value does not fit in 64 bits";
    case -E_INVAL: return "invalid argument (not a node offset?)";
    default: return "unknown error";
    }
}

/* ---- Walking ----------------------------------------------------------------------- */

static int root_node(const struct fdt *fdt)
{
    return fdt_next_node(fdt, -1);
}

int fdt_next_node(const struct fdt *fdt, int node)
{
    struct token token;
    uint32_t offset = 0;
    if (node >= 0) {
        int error = read_node(fdt, node, &token);
        if (error < 0)
            return error;
        offset = token.next_offset;
    }
    for (;;) {
        int error = read_token(fdt, offset, &token);
        if (error < 0)
            return error;
        if (token.kind == FDT_BEGIN_NODE)
            return (int)offset;
        if (token.kind == FDT_END)
            return -E_NOENT;
        offset = token.next_offset;
    }
}

/* Skips the properties and NOPs at offset; returns the offset of the next other token. */
static int skip_properties(const struct fdt *fdt, uint32_t offset, struct token *token)
{
    for (;;) {
        int error = read_token(fdt, offset, token);
        if (error < 0)
            return error;
        if (token->kind != FDT_PROP && token->kind != FDT_NOP)
            return (int)offset;
        offset = token->next_offset;
    }
}

int fdt_first_child(const struct fdt *fdt, int node)
{
    struct token token;
    int error = read_node(fdt, node, &token);
    if (error < 0)
        return error;
    int offset = skip_properties(fdt, token.next_offset, &token);
    if (offset < 0)
        return offset;
    if (token.kind == FDT_BEGIN_NODE)
        return offset;
    return token.kind == FDT_END_NODE ? -E_NOENT : -E_BADDATA;
}

/* Returns the offset just past the END_NODE that closes node. */
static int skip_subtree(const struct fdt *fdt, int node)
{
    struct token token;
    int error = read_node(fdt, node, &token);
    if (error < 0)
        return error;
    uint32_t offset = token.next_offset;
    for (uint32_t depth = 1; depth > 0; offset = token.next_offset) {
        error = read_token(fdt, offset, &token);
        if (error < 0)
            return error;
        if (token.kind == FDT_BEGIN_NODE)
            depth++;
        else if (token.kind == FDT_END_NODE)
            depth--;
        else if (token.kind == FDT_END)
            return -E_BADDATA;
    }
    return (int)offset;
}

int fdt_next_sibling(const struct fdt *fdt, int node)
{
    int offset = skip_subtree(fdt, node);
    if (offset < 0)
        return offset;
    struct token token;
    for (;; offset = (int)token.next_offset) {
        int error = read_token(fdt, (uint32_t)offset, &token);
        if (error < 0)
            return error;
        if (token.kind == FDT_BEGIN_NODE)
            return offset;
        if (token.kind == FDT_END_NODE || token.kind == FDT_END)
            return -E_NOENT;
        if (token.kind == FDT_PROP)
            return -E_BADDATA;
    }
}

int fdt_parent(const struct fdt *fdt, int node)
{
    int ancestors[FDT_MAX_DEPTH];
    int depth = 0;
    struct token token;
    for (uint32_t offset = 0;; offset = token.next_offset) {
        int error = read_token(fdt, offset, &token);
        if (error < 0)
            return error;
        if (token.kind == FDT_BEGIN_NODE) {
            if ((int)offset == node)
                return depth > 0 ? ancestors[depth - 1] : -E_NOENT;
            if (depth == FDT_MAX_DEPTH)
                return -E_BADDATA;
            ancestors[depth++] = (int)offset;
        } else if (token.kind == FDT_END_NODE) {
            if (depth-- == 0)
                return -E_BADDATA;
        } else if (token.kind == FDT_END) {
            return -E_INVAL; /* node is not the offset of a node */
        }
    }
}

const char *fdt_node_name(const struct fdt *fdt, int node)
{
    struct token token;
    return read_node(fdt, node, &token) == 0 ? token.name : NULL;
}

/* The child of node named exactly name[0..name_bytes), or -E_NOENT. */
static int find_child(const struct fdt *fdt, int node, const char *name, size_t name_bytes)
{
    int child;
    for (child = fdt_first_child(fdt, node); child >= 0; child = fdt_next_sibling(fdt, child)) {
        struct token token;
        int error = read_node(fdt, child, &token);
        if (error < 0)
            return error;
        if (token.name_bytes == name_bytes && memcmp(token.name, name, name_bytes) == 0)
            return child;
    }
    return child;
}

/* Follows the '/'-separated components of path[0..path_bytes) down from node. */
static int descend(const struct fdt *fdt, int node, const char *path, size_t path_bytes)
{
    size_t start = 0;
    while (node >= 0 && start < path_bytes) {
        if (path[start] == '/') {
            start++;
            continue;
        }
        size_t end = start;
        while (end < path_bytes && path[end] != '/')
            end++;
        node = find_child(fdt, node, path + start, end - start);
        start = end;
    }
    return node;
}

/* Finds property name[0..name_bytes) of node. 0, -E_NOENT or -E_BADDATA. */
static int find_property(const struct fdt *fdt, int node, const char *name, size_t name_bytes, struct token *property)
{
    int error = read_node(fdt, node, property);
    if (error < 0)
        return error;
    for (uint32_t offset = property->next_offset;; offset = property->next_offset) {
        error = read_token(fdt, offset, property);
        if (error < 0)
            return error;
        if (property->kind == FDT_PROP && property->name_bytes == name_bytes &&
            memcmp(property->name, name, name_bytes) == 0)
            return 0;
        if (property->kind != FDT_PROP && property->kind != FDT_NOP)
            return -E_NOENT;
    }
}

/* The node an alias names: the alias value must be an absolute path (no alias chains). */
static int resolve_alias(const struct fdt *fdt, const char *alias, size_t alias_bytes)
{
    int root = root_node(fdt);
    if (root < 0)
        return root;
    int aliases = find_child(fdt, root, "aliases", strlen("aliases"));
    if (aliases < 0)
        return aliases;
    struct token property;
    int error = find_property(fdt, aliases, alias, alias_bytes, &property);
    if (error < 0)
        return error;
    if (property.value_bytes < 2 || property.value[property.value_bytes - 1] != '\0' || property.value[0] != '/')
        return -E_BADDATA;
    const char *target = (const char *)property.value;
    return descend(fdt, root, target, strlen(target));
}

int fdt_node_by_path_bytes(const struct fdt *fdt, const char *path, size_t path_bytes)
{
    if (path == NULL || path_bytes == 0)
        return -E_INVAL;
    if (path[0] == '/')
        return descend(fdt, root_node(fdt), path, path_bytes);
    size_t alias_bytes = 0;
    while (alias_bytes < path_bytes && path[alias_bytes] != '/')
        alias_bytes++;
    int node = resolve_alias(fdt, path, alias_bytes);
    return descend(fdt, node, path + alias_bytes, path_bytes - alias_bytes);
}

int fdt_node_by_path(const struct fdt *fdt, const char *path)
{
    return fdt_node_by_path_bytes(fdt, path, path == NULL ? 0 : strlen(path));
}

/* ---- Properties -------------------------------------------------------------------- */

int fdt_property(const struct fdt *fdt, int node, const char *name, const void **value, uint32_t *value_bytes)
{
    struct token property;
    int error = find_property(fdt, node, name, strlen(name), &property);
    if (error < 0)
        return error;
    *value = property.value;
    *value_bytes = property.value_bytes;
    return 0;
}

int fdt_property_u32(const struct fdt *fdt, int node, const char *name, uint32_t *result)
{
    const void *value;
    uint32_t value_bytes;
    int error = fdt_property(fdt, node, name, &value, &value_bytes);
    if (error < 0)
        return error;
    if (value_bytes != 4)
        return -E_BADDATA;
    *result = read_be32(value);
    return 0;
}

int fdt_property_u64(const struct fdt *fdt, int node, const char *name, uint64_t *result)
{
    const void *value;
    uint32_t value_bytes;
    int error = fdt_property(fdt, node, name, &value, &value_bytes);
    if (error < 0)
        return error;
    if (value_bytes == 4)
        *result = read_be32(value);
    else if (value_bytes == 8)
        *result = read_be64(value);
    else
        return -E_BADDATA;
    return 0;
}

int fdt_property_string(const struct fdt *fdt, int node, const char *name, const char **result)
{
    const void *value;
    uint32_t value_bytes;
    int error = fdt_property(fdt, node, name, &value, &value_bytes);
    if (error < 0)
        return error;
    const char *text = value;
    if (value_bytes == 0 || text[value_bytes - 1] != '\0')
        return -E_BADDATA;
    *result = text;
    return 0;
}

/* Whether the string list list[0..list_bytes) holds wanted; a last entry without NUL never matches. */
static bool string_list_contains(const char *list, uint32_t list_bytes, const char *wanted)
{
    size_t wanted_bytes = strlen(wanted);
    uint32_t start = 0;
    while (start < list_bytes) {
        size_t entry_bytes = strnlen(list + start, list_bytes - start);
        if (entry_bytes == list_bytes - start)
            return false;
        if (entry_bytes == wanted_bytes && memcmp(list + start, wanted, wanted_bytes) == 0)
            return true;
        start += (uint32_t)entry_bytes + 1;
    }
    return false;
}

int fdt_node_is_compatible(const struct fdt *fdt, int node, const char *compatible)
{
    const void *value;
    uint32_t value_bytes;
    int error = fdt_property(fdt, node, "compatible", &value, &value_bytes);
    if (error == -E_NOENT)
        return 0;
    if (error < 0)
        return error;
    return string_list_contains(value, value_bytes, compatible) ? 1 : 0;
}

int fdt_find_compatible(const struct fdt *fdt, int after_node, const char *compatible)
{
    for (int node = fdt_next_node(fdt, after_node);; node = fdt_next_node(fdt, node)) {
        if (node < 0)
            return node;
        int match = fdt_node_is_compatible(fdt, node, compatible);
        if (match != 0)
            return match > 0 ? node : match;
    }
}
