//! Prepares an S3 request for s3s: accepts any credentials by dropping signatures, and decodes aws-chunked bodies.
//!
//! s3s 0.14.1 verifies SigV4 against the secret key an `S3Auth` returns for the access key, so it can
//! only accept credentials it knows, and without an `S3Auth` it rejects every signed request with
//! `NotImplemented`. The emulator accepts any credentials, as LocalStack does, so it removes the
//! signature and hands s3s an anonymous request. s3s decodes aws-chunked bodies (which the SDK sends
//! for streaming uploads with a trailing checksum) only on its signed path, so the decoding moves here.

use bytes::{Bytes, BytesMut};
use http::header::{AUTHORIZATION, CONTENT_ENCODING, CONTENT_LENGTH};
use http::{HeaderMap, HeaderValue, Request, Uri};
use http_body_util::BodyExt as _;
use hyper::body::Incoming;

/// Query parameters that carry a presigned URL's signature (SigV4 and SigV2).
const PRESIGN_PARAMS: &[&str] = &[
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
    "AWSAccessKeyId",
    "Signature",
    "Expires",
];

/// The region a request was signed for (its SigV4 credential scope), kept as a request extension
/// once the signature is gone: S3 endpoints are regional, and CreateBucket's LocationConstraint is
/// checked against the region the request was sent to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SignedRegion(pub(crate) String);

/// The region of a SigV4 credential, `<key>/<date>/<region>/<service>/aws4_request`.
fn credential_region(credential: &str) -> Option<&str> {
    let mut fields = credential.split('/');
    let region = fields.nth(2)?;
    (fields.next().is_some() && !region.is_empty()).then_some(region)
}

/// The region `parts` were signed for: the `Credential=` of an `Authorization` header, or a
/// presigned URL's `X-Amz-Credential`.
fn signed_region(parts: &http::request::Parts) -> Option<SignedRegion> {
    let from_header = parts.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|value| {
        let credential = value.split_once("Credential=")?.1;
        credential_region(credential.split([',', ' ']).next()?).map(str::to_owned)
    });
    let from_query = || {
        let query = parts.uri.query()?;
        form_urlencoded::parse(query.as_bytes())
            .find(|(name, _)| name == "X-Amz-Credential")
            .and_then(|(_, credential)| credential_region(&credential).map(str::to_owned))
    };
    from_header.or_else(from_query).map(SignedRegion)
}

/// Why a request could not be prepared.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PrepareError {
    #[error("failed to read the request body: {0}")]
    Body(#[source] hyper::Error),
    #[error("malformed aws-chunked body: {0}")]
    Chunked(&'static str),
    /// A presigned URL past its `X-Amz-Expires`, or with a lifetime S3 refuses.
    #[error("{0}")]
    Presign(String),
}

/// The longest a SigV4 presigned URL may live: "The maximum expiration time for presigned URL is
/// one week from time of creation" (Authenticating Requests: Using Query Parameters, Amazon S3 API
/// Reference).
const MAX_PRESIGN_SECONDS: i64 = 604_800;

/// Checks a SigV4 presigned URL's lifetime against the wall clock (which the client signed with):
/// past `X-Amz-Date` + `X-Amz-Expires` S3 answers 403 `AccessDenied` "Request has expired".
fn check_presign_lifetime(uri: &Uri, now: time::OffsetDateTime) -> Result<(), PrepareError> {
    let Some(query) = uri.query() else { return Ok(()) };
    let param = |wanted: &str| {
        form_urlencoded::parse(query.as_bytes()).find(|(name, _)| name == wanted).map(|(_, value)| value)
    };
    let (Some(date), Some(expires)) = (param("X-Amz-Date"), param("X-Amz-Expires")) else { return Ok(()) };
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let signed = time::PrimitiveDateTime::parse(&date, format)
        .map_err(|_| PrepareError::Presign(format!("X-Amz-Date {date} is not a yyyyMMddTHHmmssZ time.")))?
        .assume_utc();
    let seconds: i64 = expires
        .parse()
        .ok()
        .filter(|seconds| (1..=MAX_PRESIGN_SECONDS).contains(seconds))
        .ok_or_else(|| {
            PrepareError::Presign(format!(
                "X-Amz-Expires must be between 1 and {MAX_PRESIGN_SECONDS} seconds (one week), got {expires}."
            ))
        })?;
    if now > signed + time::Duration::seconds(seconds) {
        return Err(PrepareError::Presign("Request has expired".to_owned()));
    }
    Ok(())
}

/// Turns a signed request into an anonymous one with a plain body.
pub(crate) async fn prepare(request: Request<Incoming>) -> Result<Request<s3s::Body>, PrepareError> {
    let (mut parts, body) = request.into_parts();
    if let Some(region) = signed_region(&parts) {
        parts.extensions.insert(region);
    }
    parts.headers.remove(AUTHORIZATION);
    check_presign_lifetime(&parts.uri, time::OffsetDateTime::now_utc())?;
    if let Some(uri) = strip_presign_params(&parts.uri) {
        parts.uri = uri;
    }
    if !is_aws_chunked(&parts.headers) {
        return Ok(Request::from_parts(parts, s3s::Body::from(body)));
    }
    let raw = body.collect().await.map_err(PrepareError::Body)?.to_bytes();
    let decoded = decode_aws_chunked(&raw)?;
    let headers = &mut parts.headers;
    headers.insert(CONTENT_LENGTH, HeaderValue::from(decoded.data.len()));
    headers.remove("x-amz-decoded-content-length");
    headers.remove("x-amz-trailer");
    headers.insert("x-amz-content-sha256", HeaderValue::from_static("UNSIGNED-PAYLOAD"));
    remove_aws_chunked_encoding(headers);
    // Trailing checksums travel as headers from here on, as they would have without chunking.
    for (name, value) in decoded.trailers {
        if name.as_str().starts_with("x-amz-checksum-") {
            headers.insert(name, value);
        }
    }
    Ok(Request::from_parts(parts, s3s::Body::from(decoded.data)))
}

fn is_aws_chunked(headers: &HeaderMap) -> bool {
    let streaming = headers
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("STREAMING-"));
    let encoded = headers
        .get_all(CONTENT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|coding| coding.trim().eq_ignore_ascii_case("aws-chunked")));
    streaming || encoded
}

fn remove_aws_chunked_encoding(headers: &mut HeaderMap) {
    let remaining: Vec<String> = headers
        .get_all(CONTENT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|coding| !coding.is_empty() && !coding.eq_ignore_ascii_case("aws-chunked"))
        .map(str::to_owned)
        .collect();
    headers.remove(CONTENT_ENCODING);
    if !remaining.is_empty()
        && let Ok(value) = HeaderValue::from_str(&remaining.join(","))
    {
        headers.insert(CONTENT_ENCODING, value);
    }
}

/// The URI without presigning parameters, or `None` when it has none.
fn strip_presign_params(uri: &Uri) -> Option<Uri> {
    let query = uri.query()?;
    let is_presign = |pair: &str| {
        let name = pair.split_once('=').map_or(pair, |(name, _)| name);
        PRESIGN_PARAMS.contains(&name)
    };
    if !query.split('&').any(is_presign) {
        return None;
    }
    let kept: Vec<&str> = query.split('&').filter(|pair| !pair.is_empty() && !is_presign(pair)).collect();
    let path_and_query =
        if kept.is_empty() { uri.path().to_owned() } else { format!("{}?{}", uri.path(), kept.join("&")) };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = path_and_query.parse().ok();
    Uri::from_parts(parts).ok()
}

/// A decoded aws-chunked body.
#[derive(Debug)]
pub(crate) struct Decoded {
    pub(crate) data: Bytes,
    pub(crate) trailers: Vec<(http::HeaderName, HeaderValue)>,
}

/// Decodes `<hex size>[;chunk-signature=..]\r\n<data>\r\n ... 0[;..]\r\n<trailers>\r\n`.
///
/// Chunk signatures are ignored, like the request signature.
pub(crate) fn decode_aws_chunked(body: &[u8]) -> Result<Decoded, PrepareError> {
    let mut data = BytesMut::with_capacity(body.len());
    let mut rest = body;
    loop {
        let (line, after) = split_line(rest).ok_or(PrepareError::Chunked("missing chunk header"))?;
        let size_text = line.split(|&b| b == b';').next().unwrap_or_default();
        let size = std::str::from_utf8(size_text)
            .ok()
            .and_then(|text| usize::from_str_radix(text.trim(), 16).ok())
            .ok_or(PrepareError::Chunked("chunk size is not hexadecimal"))?;
        rest = after;
        if size == 0 {
            break;
        }
        if rest.len() < size {
            return Err(PrepareError::Chunked("chunk shorter than its declared size"));
        }
        data.extend_from_slice(&rest[..size]);
        rest =
            rest[size..].strip_prefix(b"\r\n").ok_or(PrepareError::Chunked("chunk not followed by CRLF"))?;
    }
    let mut trailers = Vec::new();
    while let Some((line, after)) = split_line(rest) {
        rest = after;
        if line.is_empty() {
            break;
        }
        let text = std::str::from_utf8(line).map_err(|_| PrepareError::Chunked("trailer is not UTF-8"))?;
        let (name, value) = text.split_once(':').ok_or(PrepareError::Chunked("trailer without a colon"))?;
        if let (Ok(name), Ok(value)) =
            (http::HeaderName::from_bytes(name.trim().as_bytes()), HeaderValue::from_str(value.trim()))
        {
            trailers.push((name, value));
        }
    }
    Ok(Decoded { data: data.freeze(), trailers })
}

fn split_line(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = bytes.windows(2).position(|w| w == b"\r\n")?;
    Some((&bytes[..end], &bytes[end + 2..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsigned_chunks_with_a_trailer_decode() {
        let body = b"5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n";
        let decoded = decode_aws_chunked(body).unwrap();
        assert_eq!(&decoded.data[..], b"hello world");
        assert_eq!(decoded.trailers.len(), 1);
        assert_eq!(decoded.trailers[0].0, "x-amz-checksum-crc32");
        assert_eq!(decoded.trailers[0].1, "DUoRhQ==");
    }

    #[test]
    fn signed_chunks_decode_and_ignore_signatures() {
        let body = b"3;chunk-signature=abc\r\nfoo\r\n0;chunk-signature=def\r\n\r\n";
        let decoded = decode_aws_chunked(body).unwrap();
        assert_eq!(&decoded.data[..], b"foo");
        assert!(decoded.trailers.is_empty());
    }

    #[test]
    fn truncated_chunks_are_rejected() {
        assert!(decode_aws_chunked(b"10\r\nshort\r\n").is_err());
        assert!(decode_aws_chunked(b"zz\r\n").is_err());
        assert!(decode_aws_chunked(b"3\r\nfooXX0\r\n\r\n").is_err());
    }

    #[test]
    fn presign_parameters_are_removed_and_others_kept() {
        let uri: Uri = "/b/k?x-id=GetObject&X-Amz-Signature=abc&X-Amz-Credential=a%2Fb".parse().unwrap();
        assert_eq!(strip_presign_params(&uri).unwrap(), "/b/k?x-id=GetObject");
        let plain: Uri = "/b?list-type=2&prefix=a".parse().unwrap();
        assert_eq!(strip_presign_params(&plain), None);
    }

    #[test]
    fn presigned_urls_live_until_their_expiry_and_at_most_a_week() {
        let uri = |expires: &str| -> Uri {
            format!("/b/k?X-Amz-Date=20261203T120000Z&X-Amz-Expires={expires}&X-Amz-Signature=x")
                .parse()
                .unwrap()
        };
        let signed = time::macros::datetime!(2026-12-03 12:00:00 UTC);
        assert!(check_presign_lifetime(&uri("3600"), signed + time::Duration::seconds(3600)).is_ok());
        let late = check_presign_lifetime(&uri("3600"), signed + time::Duration::seconds(3601));
        assert_eq!(late.unwrap_err().to_string(), "Request has expired");
        assert!(check_presign_lifetime(&uri("604801"), signed).is_err());
        assert!(check_presign_lifetime(&"/b/k?list-type=2".parse().unwrap(), signed).is_ok());
    }

    #[test]
    fn only_the_aws_chunked_coding_is_removed() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("aws-chunked,gzip"));
        remove_aws_chunked_encoding(&mut headers);
        assert_eq!(headers.get(CONTENT_ENCODING).unwrap(), "gzip");
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("aws-chunked"));
        remove_aws_chunked_encoding(&mut headers);
        assert!(headers.get(CONTENT_ENCODING).is_none());
    }
}
