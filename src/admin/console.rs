//! `GET /console`: the live web console, one page whose files (`console/`:
//! HTML, JS, CSS and the vendored chart library) are compiled into the binary.
//! The page polls the read-only JSON routes and calls the mutating ones with
//! the token the user types into it; serving it needs no token.

use actix_web::http::header::{self, ContentType};
use actix_web::{web, HttpResponse};

use super::error::{ApiError, ErrorBody};

/// The page may only load its own files and call this server.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const INDEX: Asset = Asset {
    name: "index.html",
    content_type: "text/html; charset=utf-8",
    body: include_bytes!("console/index.html"),
};

/// The files under `/console/`.
const ASSETS: [Asset; 4] = [
    Asset {
        name: "console.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("console/console.js"),
    },
    Asset {
        name: "console.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("console/console.css"),
    },
    Asset {
        name: "uPlot-1.6.32.iife.min.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("console/vendor/uPlot-1.6.32.iife.min.js"),
    },
    Asset {
        name: "uPlot-1.6.32.min.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("console/vendor/uPlot-1.6.32.min.css"),
    },
];

fn serve(asset: &Asset) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(ContentType(
            asset.content_type.parse().expect("a valid media type"),
        ))
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(asset.body)
}

/// The console page (HTML); its scripts and styles are under `/console/`.
#[utoipa::path(
    get,
    operation_id = "console_page",
    path = "/console",
    tag = "console",
    responses((status = 200, description = "the console page", content_type = "text/html", body = String))
)]
pub async fn page() -> HttpResponse {
    serve(&INDEX)
}

/// A script or stylesheet of the console.
#[utoipa::path(
    get,
    operation_id = "console_asset",
    path = "/console/{file}",
    tag = "console",
    params(("file" = String, Path, description = "console.js, console.css or a vendored file")),
    responses(
        (status = 200, description = "the file", content_type = "text/plain", body = String),
        (status = 404, body = ErrorBody),
    )
)]
pub async fn asset(file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    ASSETS
        .iter()
        .find(|a| a.name == file.as_str())
        .map(serve)
        .ok_or_else(|| ApiError::NotFound(format!("no console file {file}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_names_every_asset_and_loads_nothing_else() {
        let html = std::str::from_utf8(INDEX.body).unwrap();
        for a in &ASSETS {
            assert!(
                html.contains(&format!("/console/{}", a.name)),
                "{} is not loaded",
                a.name
            );
            assert!(!a.body.is_empty());
        }
        for text in [html, std::str::from_utf8(ASSETS[0].body).unwrap()] {
            assert!(!text.contains("http://") && !text.contains("https://"));
        }
    }
}
