#include "host/tqe/tqe_handoff.h"

#include <string.h>

#include "common/cursor.h"
#include "trusted/tqe/tqe_abi.h"
#include "trusted/tve/tve_channel.h"
#include "veil/tve.pb-c.h"

veil_status tqe_handoff(tee_enclave *tqe, tve_client *tve)
{
    return tve_handoff_run(tqe, TQE_E_HANDOFF_BEGIN, TQE_E_HANDOFF_END, tve);
}

veil_status tve_handoff_run(tee_enclave *tqe, uint32_t begin_ecall, uint32_t end_ecall,
                            tve_client *tve)
{
    Veil__Tve__Request req = VEIL__TVE__REQUEST__INIT;
    Veil__Tve__StatusRequest sr = VEIL__TVE__STATUS_REQUEST__INIT;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_STATUS;
    req.status = &sr;
    Veil__Tve__Response *resp = NULL;
    TRY(tve_client_call(tve, &req, VEIL__TVE__RESPONSE__RESPONSE_STATUS, 0, &resp));
    uint8_t target[TEE_MEASUREMENT_LEN + 8];
    veil_status st = resp->status->mrenclave.len == TEE_MEASUREMENT_LEN ? VEIL_OK
                                                                        : VEIL_ERR_DECODE;
    if (st == VEIL_OK) {
        memcpy(target, resp->status->mrenclave.data, TEE_MEASUREMENT_LEN);
        veil_put_u64(target + TEE_MEASUREMENT_LEN, resp->status->debug ? TEE_ATTR_DEBUG : 0);
    }
    veil__tve__response__free_unpacked(resp, NULL);
    TRY(st);

    uint8_t begin[TEE_REPORT_WIRE_LEN + TVE_HANDOFF_PUB_LEN];
    size_t n = 0;
    TRY(tee_enclave_call(tqe, begin_ecall, target, sizeof target, begin, sizeof begin,
                         &n));
    ENSURE(n == sizeof begin, VEIL_ERR_TEE_ENCLAVE_FAULT);
    Veil__Tve__HandoffRequest hr = VEIL__TVE__HANDOFF_REQUEST__INIT;
    hr.tqe_report.data = begin;
    hr.tqe_report.len = TEE_REPORT_WIRE_LEN;
    hr.tqe_pub.data = begin + TEE_REPORT_WIRE_LEN;
    hr.tqe_pub.len = TVE_HANDOFF_PUB_LEN;
    req.request_case = VEIL__TVE__REQUEST__REQUEST_HANDOFF;
    req.handoff = &hr;
    TRY(tve_client_call(tve, &req, VEIL__TVE__RESPONSE__RESPONSE_HANDOFF, 0, &resp));
    uint8_t end[TVE_HANDOFF_BOX_LEN + TEE_REPORT_WIRE_LEN];
    st = resp->handoff->box.len == TVE_HANDOFF_BOX_LEN &&
                 resp->handoff->tve_report.len == TEE_REPORT_WIRE_LEN
             ? VEIL_OK
             : VEIL_ERR_DECODE;
    if (st == VEIL_OK) {
        memcpy(end, resp->handoff->box.data, TVE_HANDOFF_BOX_LEN);
        memcpy(end + TVE_HANDOFF_BOX_LEN, resp->handoff->tve_report.data, TEE_REPORT_WIRE_LEN);
    }
    veil__tve__response__free_unpacked(resp, NULL);
    TRY(st);
    return tee_enclave_call(tqe, end_ecall, end, sizeof end, NULL, 0, &n);
}
