//! Static files embedded in the binary (`include_bytes!`) and served under a path that holds
//! the hash of their content (`/aset/{hash}/{name}`), so they can be cached for a year: a new
//! build with a changed file has a new path. htmx and its SSE extension are vendored as
//! published on the npm registry (versions in the file names, licences beside them).

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::Digest as _;

/// One embedded file.
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

const FILES: &[Asset] = &[
    Asset {
        name: "htmx.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/htmx-2.0.11.min.js"),
    },
    Asset {
        name: "htmx-sse.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/htmx-ext-sse-2.2.4.min.js"),
    },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/app.js"),
    },
    Asset {
        name: "board.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/board.js"),
    },
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../assets/app.css"),
    },
    // admin pages
    Asset {
        name: "admin.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../assets/admin.css"),
    },
    Asset {
        name: "admin.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/admin.js"),
    },
];

/// The short content hash of a file: the first 16 hex digits of its SHA-256.
fn hash(bytes: &[u8]) -> String {
    let digest = sha2::Sha256::digest(bytes);
    hex::encode(&digest[..8])
}

fn hashes() -> &'static [String] {
    static HASHES: OnceLock<Vec<String>> = OnceLock::new();
    HASHES.get_or_init(|| FILES.iter().map(|f| hash(f.bytes)).collect())
}

/// The versioned URL of an embedded file (`/aset/3f2a…/app.css`); empty for an unknown name.
pub fn url(name: &str) -> String {
    FILES
        .iter()
        .zip(hashes())
        .find(|(f, _)| f.name == name)
        .map(|(f, h)| format!("/aset/{h}/{}", f.name))
        .unwrap_or_default()
}

/// `GET /aset/{hash}/{name}`: the file, cached for a year; a stale hash is not found.
pub async fn serve(Path((h, name)): Path<(String, String)>) -> Response {
    let Some((file, _)) = FILES
        .iter()
        .zip(hashes())
        .find(|(f, fh)| f.name == name && **fh == h)
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut response = file.bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(file.content_type),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    response
}
