"""Private implementation of `squall.curl_httpclient` (libcurl through pycurl)."""
