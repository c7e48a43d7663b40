/*
 * http_discard.h - a libcurl write callback that drops the response body.
 *
 * For blocking requests that only want the status (carenav doctor's provider
 * checks, carenav-sim's posts, the tests' HAProxy client): without one,
 * libcurl writes the body to stdout.
 */
#ifndef CARENAV_GATEWAY_HTTP_DISCARD_H
#define CARENAV_GATEWAY_HTTP_DISCARD_H

#include <stddef.h>

/* A CURLOPT_WRITEFUNCTION that takes every byte and keeps none. */
size_t http_discard_cb(char *ptr, size_t size, size_t nmemb, void *arg);

#endif
