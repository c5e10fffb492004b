/* UTF-8 validation as MQTT requires it (section 1.5.4): well-formed, shortest
 * form, no surrogates (U+D800..U+DFFF), no U+0000, nothing above U+10FFFF. */
#include "mqtt_codec.h"

bool mqtt_utf8_valid(const uint8_t *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        if (c < 0x80) {
            if (c == 0)
                return false;
            i++;
            continue;
        }
        size_t need;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            cp = c & 0x07;
        } else {
            return false; /* continuation byte, overlong 0xC0/0xC1, or > 0xF4 */
        }
        if (len - i <= need)
            return false;
        for (size_t k = 1; k <= need; k++) {
            uint8_t cc = s[i + k];
            if ((cc & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (cc & 0x3F);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            return false; /* overlong or out of range */
        if (cp >= 0xD800 && cp <= 0xDFFF)
            return false;
        i += need + 1;
    }
    return true;
}
