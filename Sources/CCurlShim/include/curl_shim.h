#ifndef HERD_CURL_SHIM_H
#define HERD_CURL_SHIM_H
#include <curl/curl.h>
// curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call:
// these typed wrappers are the only way the Fetch module touches them.
CURLcode herd_curl_setopt_long(CURL *h, CURLoption opt, long value);
CURLcode herd_curl_setopt_string(CURL *h, CURLoption opt, const char *value);
CURLcode herd_curl_setopt_pointer(CURL *h, CURLoption opt, void *value);
CURLcode herd_curl_setopt_off_t(CURL *h, CURLoption opt, curl_off_t value);
CURLcode herd_curl_setopt_write_function(CURL *h, size_t (*fn)(char *, size_t, size_t, void *));
CURLcode herd_curl_setopt_header_function(CURL *h, size_t (*fn)(char *, size_t, size_t, void *));
CURLcode herd_curl_getinfo_long(CURL *h, CURLINFO info, long *value);
CURLcode herd_curl_getinfo_off_t(CURL *h, CURLINFO info, curl_off_t *value);
// Restricts a handle and the redirects it follows to http and https (CURLOPT_PROTOCOLS_STR on
// libcurl >= 7.85, the deprecated bitmask options before that).
CURLcode herd_curl_restrict_to_http(CURL *h);
// curl_multi_setopt is variadic too.
CURLMcode herd_curl_multi_setopt_long(CURLM *m, CURLMoption opt, long value);
#endif
