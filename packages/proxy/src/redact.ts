/** Query parameters whose values are secrets in store and upstream URLs. */
const SECRET_PARAM = /pass|pwd|secret|token|auth|key|sig|credential/i;

/**
 * A URL with every credential masked, for printing: the password of the userinfo (the whole userinfo when it is a
 * single token), up to the last `@` before the query (passwords may hold `@`, `/`, `:`), and the values of query
 * parameters that name a secret (`?password=`, `?token=`, `?sig=`). Over-masks rather than under-masks.
 */
export function redact(url: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url);
  if (!scheme) return url;
  const start = scheme[0].length;
  let queryAt = url.search(/[?#]/);
  if (queryAt < 0) queryAt = url.length;
  let out = url;
  const at = url.lastIndexOf('@', queryAt);
  if (at >= start) {
    const userinfo = url.slice(start, at);
    const colon = userinfo.indexOf(':');
    const masked = colon >= 0 ? `${userinfo.slice(0, colon)}:***` : '***';
    out = `${url.slice(0, start)}${masked}${url.slice(at)}`;
    queryAt += out.length - url.length;
  }
  const head = out.slice(0, queryAt);
  const tail = out
    .slice(queryAt)
    .replace(/([?&;#])([^=&;#]*)=([^&;#]*)/g, (whole, sep: string, name: string) =>
      SECRET_PARAM.test(decodeSafely(name)) ? `${sep}${name}=***` : whole,
    );
  return head + tail;
}

function decodeSafely(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
