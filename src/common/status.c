#include "common/status.h"

const char *veil_status_str(veil_status s)
{
    switch (s) {
#define VEIL_STATUS_STR_(name, value, msg)                                               \
    case name:                                                                           \
        return msg;
        VEIL_STATUS_LIST(VEIL_STATUS_STR_)
#undef VEIL_STATUS_STR_
    }
    return "unknown status";
}

const char *veil_status_name(veil_status s)
{
    switch (s) {
#define VEIL_STATUS_NAME_(name, value, msg)                                              \
    case name:                                                                           \
        return #name;
        VEIL_STATUS_LIST(VEIL_STATUS_NAME_)
#undef VEIL_STATUS_NAME_
    }
    return "VEIL_ERR_UNKNOWN";
}

veil_status veil_status_from_wire(uint32_t code)
{
    if (code == VEIL_OK) return VEIL_ERR_REMOTE_UNKNOWN;
    switch (code) {
#define VEIL_STATUS_WIRE_(name, value, msg)                                              \
    case value:                                                                          \
        return name;
        VEIL_STATUS_LIST(VEIL_STATUS_WIRE_)
#undef VEIL_STATUS_WIRE_
    }
    return VEIL_ERR_REMOTE_UNKNOWN;
}
