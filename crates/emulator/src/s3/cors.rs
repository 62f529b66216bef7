//! CORS for S3 buckets, as the S3 user guide's "Using cross-origin resource sharing (CORS)" describes
//! it: a bucket's rules are evaluated in order, the first rule whose `AllowedOrigins` matches the
//! `Origin`, whose `AllowedMethods` holds the method (the preflight's
//! `Access-Control-Request-Method`), and whose `AllowedHeaders` match every header of
//! `Access-Control-Request-Headers` answers the request. `AllowedOrigins` and `AllowedHeaders` may
//! hold one `*` wildcard each. A preflight (`OPTIONS`) that no rule allows is `403 Forbidden`.

use http::{HeaderMap, HeaderValue, Method, Response, StatusCode};

use crate::s3::store::CorsRule;

/// What a CORS request asks: its origin, method and (for a preflight) the headers it will send.
#[derive(Debug)]
pub(crate) struct CorsRequest<'a> {
    pub(crate) origin: &'a str,
    pub(crate) method: &'a str,
    pub(crate) headers: Vec<String>,
}

impl<'a> CorsRequest<'a> {
    /// The preflight request in `headers`, if they hold an `Origin` and an
    /// `Access-Control-Request-Method`.
    pub(crate) fn preflight(headers: &'a HeaderMap) -> Option<CorsRequest<'a>> {
        let text = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
        let requested = text("access-control-request-headers").unwrap_or("");
        Some(CorsRequest {
            origin: text("origin")?,
            method: text("access-control-request-method")?,
            headers: requested
                .split(',')
                .map(|header| header.trim().to_ascii_lowercase())
                .filter(|header| !header.is_empty())
                .collect(),
        })
    }

    /// An actual (non-preflight) request with an `Origin`.
    pub(crate) fn actual(headers: &'a HeaderMap, method: &'a Method) -> Option<CorsRequest<'a>> {
        let origin = headers.get("origin").and_then(|value| value.to_str().ok())?;
        Some(CorsRequest { origin, method: method.as_str(), headers: Vec::new() })
    }
}

/// `text` against `pattern` with at most one `*`, which matches any run of characters.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => {
            text.len() >= head.len() + tail.len() && text.starts_with(head) && text.ends_with(tail)
        }
    }
}

/// The first of `rules` that allows `request`.
pub(crate) fn matching<'r>(rules: &'r [CorsRule], request: &CorsRequest<'_>) -> Option<&'r CorsRule> {
    rules.iter().find(|rule| {
        rule.allowed_origins.iter().any(|origin| wildcard_match(origin, request.origin))
            && rule.allowed_methods.iter().any(|method| method == request.method)
            && request.headers.iter().all(|header| {
                rule.allowed_headers
                    .iter()
                    .any(|allowed| wildcard_match(&allowed.to_ascii_lowercase(), header))
            })
    })
}

/// Adds the `Access-Control-*` headers `rule` grants `request` to `headers`.
pub(crate) fn grant(rule: &CorsRule, request: &CorsRequest<'_>, preflight: bool, headers: &mut HeaderMap) {
    let mut set = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    // A rule for any origin answers `*`; S3 names the origin otherwise, with credentials allowed.
    if rule.allowed_origins.iter().any(|origin| origin == "*") {
        set("access-control-allow-origin", "*");
    } else {
        set("access-control-allow-origin", request.origin);
        set("access-control-allow-credentials", "true");
        set("vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method");
    }
    if preflight {
        set("access-control-allow-methods", &rule.allowed_methods.join(", "));
        if !request.headers.is_empty() {
            set("access-control-allow-headers", &request.headers.join(", "));
        }
        if let Some(max_age) = rule.max_age_seconds {
            set("access-control-max-age", &max_age.to_string());
        }
    }
    if !rule.expose_headers.is_empty() {
        set("access-control-expose-headers", &rule.expose_headers.join(", "));
    }
}

/// The answer to a preflight for a bucket with `rules` (`None`: no CORS configuration).
pub(crate) fn preflight_response(
    rules: Option<&[CorsRule]>,
    request: &CorsRequest<'_>,
) -> Response<s3s::Body> {
    let denied = |message: &str| {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessForbidden</Code><Message>{message}</Message>\
             <Method>{}</Method><ResourceType>BUCKET</ResourceType></Error>",
            request.method
        );
        let mut response = Response::new(s3s::Body::from(body));
        *response.status_mut() = StatusCode::FORBIDDEN;
        response.headers_mut().insert("content-type", HeaderValue::from_static("application/xml"));
        response
    };
    let Some(rules) = rules else { return denied("CORSResponse: CORS is not enabled for this bucket.") };
    match matching(rules, request) {
        Some(rule) => {
            let mut response = Response::new(s3s::Body::empty());
            grant(rule, request, true, response.headers_mut());
            response
        }
        None => denied(
            "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, \
             request method / Access-Control-Request-Method or Access-Control-Request-Headers are not \
             whitelisted by the resource's CORS spec.",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(origins: &[&str], methods: &[&str], headers: &[&str]) -> CorsRule {
        let owned = |list: &[&str]| list.iter().map(|item| (*item).to_owned()).collect();
        CorsRule {
            allowed_origins: owned(origins),
            allowed_methods: owned(methods),
            allowed_headers: owned(headers),
            max_age_seconds: Some(3000),
            ..CorsRule::default()
        }
    }

    fn request<'a>(origin: &'a str, method: &'a str, headers: &[&str]) -> CorsRequest<'a> {
        CorsRequest { origin, method, headers: headers.iter().map(|h| (*h).to_owned()).collect() }
    }

    #[test]
    fn the_first_rule_matching_origin_method_and_every_header_answers() {
        let rules = [rule(&["https://*.example.com"], &["PUT"], &["x-amz-*"]), rule(&["*"], &["GET"], &[])];
        let put = request("https://app.example.com", "PUT", &["x-amz-date", "x-amz-meta-a"]);
        assert_eq!(matching(&rules, &put), Some(&rules[0]));
        assert_eq!(matching(&rules, &request("https://app.example.com", "PUT", &["content-md5"])), None);
        assert_eq!(matching(&rules, &request("https://example.org", "PUT", &[])), None);
        assert_eq!(matching(&rules, &request("https://example.org", "GET", &[])), Some(&rules[1]));
        assert_eq!(matching(&rules, &request("https://example.org", "DELETE", &[])), None);
    }

    #[test]
    fn a_preflight_is_granted_or_forbidden_with_s3s_reasons() {
        let rules = [rule(&["https://a.test"], &["GET", "PUT"], &["*"])];
        let allowed = preflight_response(Some(&rules), &request("https://a.test", "PUT", &["content-type"]));
        assert_eq!(allowed.status(), StatusCode::OK);
        let headers = allowed.headers();
        assert_eq!(headers["access-control-allow-origin"], "https://a.test");
        assert_eq!(headers["access-control-allow-methods"], "GET, PUT");
        assert_eq!(headers["access-control-allow-headers"], "content-type");
        assert_eq!(headers["access-control-max-age"], "3000");
        let denied = preflight_response(Some(&rules), &request("https://b.test", "PUT", &[]));
        assert_eq!(denied.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            preflight_response(None, &request("https://a.test", "GET", &[])).status(),
            StatusCode::FORBIDDEN
        );
    }
}
