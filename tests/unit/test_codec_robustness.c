/* Robustness of the decoder against arbitrary bytes, starting from the valid
 * vectors: every truncation, every single-byte mutation, and seeded random
 * multi-byte mutations. Any result code is fine; ASan and UBSan catch memory
 * and arithmetic errors. Every buffer is exactly sized so that a read past the
 * end is caught. Whatever the decoder accepts must also survive the iterators
 * and re-encode to a packet that decodes to the same values. */
#include "codec_vectors.h"

static const uint8_t VERSIONS[] = {MQTT_V311, MQTT_V5};

static void walk_repeated(const mqtt_packet *p)
{
    const mqtt_properties *pr = packet_props((mqtt_packet *)p);
    size_t pos = 0, n = 0;
    mqtt_user_property up;
    uint32_t id;
    if (pr) {
        while (mqtt_props_user_next(pr, &pos, &up))
            n++;
        assert_int_equal(pr->user_property_count, n);
        pos = n = 0;
        while (mqtt_props_subscription_id_next(pr, &pos, &id))
            n++;
        assert_int_equal(pr->subscription_id_count, n);
    }
    pos = n = 0;
    if (p->type == MQTT_SUBSCRIBE) {
        mqtt_subscription s;
        while (mqtt_subscribe_next(&p->u.subscribe, &pos, &s))
            n++;
        assert_int_equal(p->u.subscribe.count, n);
    } else if (p->type == MQTT_UNSUBSCRIBE) {
        mqtt_bytes f;
        while (mqtt_unsubscribe_next(&p->u.unsubscribe, &pos, &f))
            n++;
        assert_int_equal(p->u.unsubscribe.count, n);
    }
}

/* A decoded packet re-encodes (a broker forwards what it accepted) and the
 * result decodes to the same values. */
static void check_reencode(const mqtt_packet *in, uint8_t version, enum mqtt_role role)
{
    uint8_t v = in->type == MQTT_CONNECT ? in->u.connect.protocol_version : version;
    size_t n = mqtt_encoded_length(in, v);
    if (n == 0)
        fail_msg("accepted %s does not re-encode", mqtt_packet_type_name(in->type));
    uint8_t *buf = malloc(n);
    mqtt_packet again;
    assert_non_null(buf);
    assert_int_equal(n, mqtt_encode(in, v, buf, n));
    DECODE_OK(buf, n, v, role, &again);
    ASSERT_PACKET_EQ(in, &again, v);
    free(buf);
}

/* Decodes `len` bytes (copied to an exact buffer) in every version and role.
 * Returns how many of those decodes succeeded. */
static unsigned decode_any(const uint8_t *bytes, size_t len, uint32_t max)
{
    uint8_t *pkt = exact_copy(bytes, len);
    unsigned ok = 0;
    mqtt_frame fr;
    mqtt_error err = {0};
    (void)mqtt_frame_parse(pkt, len, max, &fr, &err);
    for (size_t v = 0; v < ARRAY_LEN(VERSIONS); v++) {
        for (int r = 0; r < 2; r++) {
            mqtt_packet out;
            enum mqtt_role role = r ? MQTT_ROLE_CLIENT : MQTT_ROLE_SERVER;
            int rc = decode_rc(pkt, len, VERSIONS[v], role, &out, &err);
            assert_int_equal(rc, err.reason);
            if (rc != 0) {
                assert_non_null(err.rule);
                continue;
            }
            walk_repeated(&out);
            check_reencode(&out, VERSIONS[v], role);
            ok++;
        }
    }
    free(pkt);
    return ok;
}

static void test_valid_vectors_decode(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(VALID); i++) {
        size_t len;
        uint8_t *pkt = vec_packet(&VALID[i], &len);
        mqtt_packet out;
        print_message("  %s\n", VALID[i].name);
        DECODE_OK(pkt, len, VALID[i].version, VALID[i].role, &out);
        walk_repeated(&out);
        check_reencode(&out, VALID[i].version, VALID[i].role);
        free(pkt);
    }
}

/* A prefix of a packet never decodes: its remaining length says more. Cut
 * bodies whose remaining length is rewritten to match may decode or not. */
static void test_every_truncation(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(VALID); i++) {
        size_t len;
        uint8_t *pkt = vec_packet(&VALID[i], &len);
        for (size_t cut = 0; cut < len; cut++) {
            uint8_t *prefix = exact_copy(pkt, cut);
            mqtt_packet out;
            mqtt_error err;
            if (decode_rc(prefix, cut, VALID[i].version, VALID[i].role, &out, &err) !=
                MQTT_RC_MALFORMED_PACKET)
                fail_msg("%s cut to %zu bytes: want 0x81, got 0x%02X", VALID[i].name, cut, err.reason);
            free(prefix);
        }
        for (size_t body = 0; body < VALID[i].body_len; body++) {
            wbuf w = w_packet(VALID[i].first, VALID[i].body, body);
            decode_any(w.d, w.len, 0);
            w_free(&w);
        }
        free(pkt);
    }
}

static void test_every_single_byte_mutation(void **state)
{
    (void)state;
    unsigned decodes = 0, accepted = 0;
    for (size_t i = 0; i < ARRAY_LEN(VALID); i++) {
        size_t len;
        uint8_t *pkt = vec_packet(&VALID[i], &len);
        for (size_t pos = 0; pos < len; pos++) {
            uint8_t orig = pkt[pos];
            for (unsigned b = 0; b < 256; b++) {
                if (b == orig)
                    continue;
                pkt[pos] = (uint8_t)b;
                accepted += decode_any(pkt, len, (uint32_t)(b * 3));
                decodes += 4;
            }
            pkt[pos] = orig;
        }
        free(pkt);
    }
    print_message("  %u decodes, %u accepted\n", decodes, accepted);
    assert_true(accepted > 0);
}

/* xorshift64*: a fixed seed keeps failures reproducible. */
static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint32_t rnd(uint32_t bound)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545F4914F6CDD1Du) >> 33) % bound;
}

/* Mutates a body in place (overwrite, insert, delete, duplicate a run). */
static void mutate(wbuf *w)
{
    unsigned op = rnd(4);
    size_t at = w->len ? rnd((uint32_t)w->len) : 0;
    if (op == 0 && w->len) {
        w->d[at] = (uint8_t)rnd(256);
    } else if (op == 1) {
        w_u8(w, 0);
        memmove(w->d + at + 1, w->d + at, w->len - 1 - at);
        w->d[at] = (uint8_t)rnd(256);
    } else if (op == 2 && w->len) {
        memmove(w->d + at, w->d + at + 1, w->len - at - 1);
        w->len--;
    } else if (w->len) {
        size_t n = 1 + rnd((uint32_t)(w->len - at));
        uint8_t tmp[256];
        n = n > sizeof(tmp) ? sizeof(tmp) : n;
        memcpy(tmp, w->d + at, n);
        w_raw(w, tmp, n);
    }
}

static void test_random_mutations(void **state)
{
    (void)state;
    enum { ROUNDS = 40000 };
    print_message("  seed %016llx, %d rounds\n", (unsigned long long)rng_state, ROUNDS);
    for (unsigned round = 0; round < ROUNDS; round++) {
        const vec *v = &VALID[rnd(ARRAY_LEN(VALID))];
        wbuf body = {0};
        w_raw(&body, v->body, v->body_len);
        unsigned n = 1 + rnd(6);
        for (unsigned k = 0; k < n; k++)
            mutate(&body);
        /* Mostly keep the remaining length consistent, so that the body parsers
         * see the damage; sometimes also damage the fixed header. */
        wbuf pkt = w_packet(rnd(8) ? v->first : (uint8_t)rnd(256), body.d, body.len);
        if (rnd(10) == 0 && pkt.len > 1)
            pkt.d[1 + rnd((uint32_t)(pkt.len - 1))] ^= (uint8_t)(1u << rnd(8));
        decode_any(pkt.d, pkt.len, rnd(2) ? 0 : rnd(512));
        w_free(&pkt);
        w_free(&body);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_vectors_decode),
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_every_single_byte_mutation),
        cmocka_unit_test(test_random_mutations),
    };
    return cmocka_run_group_tests_name("codec_robustness", tests, NULL, NULL);
}
