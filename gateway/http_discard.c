/*
 * http_discard.c - a libcurl write callback that drops the response body.
 * See http_discard.h. It needs no libcurl header, so carenav-sim links it
 * without the daemon's libraries.
 */
#include "http_discard.h"

size_t
http_discard_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	(void)ptr;
	(void)arg;
	return size * nmemb;
}
