// Package edge is what happens to every request before an API sees it, and
// around it: where the client really is, and what Wharf writes about it.
//
// It owns
//
//   - the public scheme and host the client used and the client's address
//     (Public, PublicOf, ClientIP: the one look-up every package uses), and
//     believing a trusted reverse proxy's X-Forwarded-* headers about them
//     (Forwarded, given the prefixes config.ParseTrustedProxies makes),
//     stripping them from anyone else;
//   - the request id: made per request, put in the request's context and in
//     the X-Request-Id response header (RequestID, WithRequestID);
//   - the log handler (NewLogHandler) that adds request_id to every line
//     logged with a request's context, so that an error line and the access
//     line of its request share the id;
//   - the access log line of each request, and panic recovery (Observe);
//   - the registry gateway rules of the classic nginx front (V2Gate) and the
//     server's own 404 and 405 answers (NoRoute);
//   - a whole-body deadline for the endpoints whose bodies are small
//     (BodyDeadline: the token endpoint, the admin API, the sign-in pages).
//
// Its answers are errcode's, in the OCI format. It must not import the API
// packages (ociapi, tokenserver, adminapi, the sign-in pages) or server:
// they import it.
package edge
