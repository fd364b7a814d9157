//! S3 and S3-compatible stores (R2, MinIO, GCS's S3 API): `<prefix>/ac/<key>` and
//! `<prefix>/cas/<sha256>` objects, requests signed locally with AWS Signature Version 4.
//!
//! With an endpoint (`AWS_ENDPOINT_URL_S3`/`AWS_ENDPOINT_URL`) objects are addressed path-style,
//! `<endpoint>/<bucket>/<object>`, which every S3-compatible server understands; without one,
//! `https://<bucket>.s3.<region>.amazonaws.com/<object>`. Without credentials requests go
//! unsigned (a public bucket), read-only.

use super::backend::Backend;
use super::http::Client;
use super::sign::{hmac, sha256_hex};
use crate::hashing::hex;
use std::time::SystemTime;

pub(super) struct Credentials {
    pub access_key: String,
    pub secret_key: String,
    pub session_token: Option<String>,
}

pub(super) struct S3 {
    client: Client,
    /// `scheme://host[:port]`.
    origin: String,
    /// `host[:port]`, as sent in the `Host` header.
    host: String,
    /// `/<bucket>` (path-style) or empty, then `/<prefix>` if any.
    base_path: String,
    region: String,
    credentials: Option<Credentials>,
}

impl S3 {
    /// From `s3://bucket/prefix`.
    pub(super) fn new(
        url: &str,
        endpoint: Option<&str>,
        region: Option<&str>,
        credentials: Option<Credentials>,
    ) -> Result<S3, String> {
        let rest = url.strip_prefix("s3://").unwrap_or(url);
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(format!("PYINSTALLER_BUILD_CACHE_URL `{url}` names no bucket; use `s3://bucket/prefix`"));
        }
        let region = region.unwrap_or("us-east-1").to_string();
        let (origin, path_style) = match endpoint {
            Some(e) => (e.trim_end_matches('/').to_string(), true),
            None => (format!("https://{bucket}.s3.{region}.amazonaws.com"), false),
        };
        let host = origin.split_once("://").map_or(origin.as_str(), |(_, h)| h).to_string();
        let mut base_path = if path_style { format!("/{bucket}") } else { String::new() };
        for segment in prefix.split('/').filter(|s| !s.is_empty()) {
            base_path.push('/');
            base_path.push_str(&uri_encode(segment));
        }
        Ok(S3 { client: Client::new(), origin, host, base_path, region, credentials })
    }

    pub(super) fn can_write(&self) -> bool {
        self.credentials.is_some()
    }

    /// The URL of `object` and the headers that sign a request for it.
    fn request(&self, method: &str, object: &str, payload_hash: &str) -> (String, Vec<(String, String)>) {
        let path = format!("{}/{object}", self.base_path);
        let url = format!("{}{path}", self.origin);
        let Some(credentials) = &self.credentials else { return (url, vec![]) };
        let date = amz_date(SystemTime::now());
        let mut headers = vec![
            ("x-amz-content-sha256".to_string(), payload_hash.to_string()),
            ("x-amz-date".to_string(), date.clone()),
        ];
        if let Some(token) = &credentials.session_token {
            headers.push(("x-amz-security-token".to_string(), token.clone()));
        }
        let signed: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let request = Request { method, host: &self.host, path: &path, query: "", headers: &signed, payload_hash };
        let authorization = authorization(credentials, &self.region, "s3", &date, &request);
        headers.push(("Authorization".to_string(), authorization));
        (url, headers)
    }
}

impl Backend for S3 {
    fn get(&self, object: &str, limit: u64) -> Result<Option<Vec<u8>>, String> {
        let (url, headers) = self.request("GET", object, &sha256_hex(b""));
        self.client.get(&url, &headers, limit)
    }

    fn size(&self, object: &str) -> Result<Option<u64>, String> {
        let (url, headers) = self.request("HEAD", object, &sha256_hex(b""));
        self.client.head(&url, &headers)
    }

    fn put(&self, object: &str, body: &[u8]) -> Result<(), String> {
        let (url, headers) = self.request("PUT", object, &sha256_hex(body));
        self.client.put(&url, &headers, body)
    }
}

/// What a SigV4 signature covers. `headers` are lowercase names besides `host`.
pub(super) struct Request<'a> {
    pub method: &'a str,
    pub host: &'a str,
    /// Already URI-encoded.
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    pub payload_hash: &'a str,
}

/// The `Authorization` header of `request` at `amz_date` (`20130524T000000Z`).
pub(super) fn authorization(c: &Credentials, region: &str, service: &str, amz_date: &str, r: &Request) -> String {
    let mut headers: Vec<(&str, &str)> = r.headers.to_vec();
    headers.push(("host", r.host));
    headers.sort();
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{}\n", v.trim())).collect();
    let signed_headers = headers.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(";");
    let canonical_request =
        format!("{}\n{}\n{}\n{canonical_headers}\n{signed_headers}\n{}", r.method, r.path, r.query, r.payload_hash);
    let day = &amz_date[..8];
    let scope = format!("{day}/{region}/{service}/aws4_request");
    let string_to_sign = format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}", sha256_hex(canonical_request.as_bytes()));
    let mut key = hmac(format!("AWS4{}", c.secret_key).as_bytes(), day.as_bytes());
    for part in [region, service, "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    let signature = hex(&hmac(&key, string_to_sign.as_bytes()));
    format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
        c.access_key
    )
}

/// SigV4's URI encoding of one path segment: everything but unreserved characters.
fn uri_encode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `YYYYMMDDTHHMMSSZ` in UTC.
fn amz_date(t: SystemTime) -> String {
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// AWS's published example "GET Object" (Amazon S3 API reference, "Signature Calculations
    /// for the Authorization Header: Transferring Payload in a Single Chunk").
    #[test]
    fn signs_as_aws_documents() {
        let c = Credentials {
            access_key: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        };
        let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let headers = [("range", "bytes=0-9"), ("x-amz-content-sha256", empty), ("x-amz-date", "20130524T000000Z")];
        let request = Request {
            method: "GET",
            host: "examplebucket.s3.amazonaws.com",
            path: "/test.txt",
            query: "",
            headers: &headers,
            payload_hash: empty,
        };
        assert_eq!(
            authorization(&c, "us-east-1", "s3", "20130524T000000Z", &request),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    #[test]
    fn dates_and_addresses() {
        assert_eq!(amz_date(SystemTime::UNIX_EPOCH + Duration::from_secs(1_369_353_600)), "20130524T000000Z");
        assert_eq!(amz_date(SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400 + 3661)), "20000229T010101Z");
        let aws = S3::new("s3://bucket/team cache/", None, Some("eu-west-1"), None).unwrap();
        assert_eq!(aws.request("GET", "ac/k", "x").0, "https://bucket.s3.eu-west-1.amazonaws.com/team%20cache/ac/k");
        assert!(!aws.can_write(), "no credentials: read-only");
        let local = S3::new("s3://bucket", Some("http://127.0.0.1:9000/"), None, None).unwrap();
        assert_eq!(local.request("GET", "cas/x", "x").0, "http://127.0.0.1:9000/bucket/cas/x");
        assert_eq!(local.host, "127.0.0.1:9000");
        assert!(S3::new("s3:///x", None, None, None).is_err());
    }
}
