//! Drives Debian's Chromium through its WebDriver (`chromium-driver`), headless, with a fresh
//! profile; nothing is downloaded. One browser for the whole test binary.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Whether the browser tests run (`SOPFLOW_TEST_BROWSER=1`, set by `.ci/run`).
pub fn enabled() -> bool {
    if std::env::var("SOPFLOW_TEST_BROWSER").as_deref() == Ok("1") {
        return true;
    }
    eprintln!(
        "\n*** SKIPPED: the browser tests need SOPFLOW_TEST_BROWSER=1 and Debian's chromium and \
         chromium-driver (.ci/run installs and sets both) ***\n"
    );
    false
}

/// Where screenshots go: `target/screenshots/` (CI keeps it as an artifact).
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target")));
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot directory");
    dir
}

pub struct Browser {
    pub client: Client,
    driver: Child,
    /// The WebDriver's address, for Chromium's own commands ([`Browser::cdp`]).
    driver_url: String,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Browser {
    /// Starts chromedriver and a headless Chromium at 1366×768.
    pub async fn start() -> Browser {
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver (apt-get install chromium-driver)");
        let profile = tempfile::tempdir().expect("profile directory");
        let args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--window-size=1366,768".to_owned(),
            "--lang=id-ID".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": CHROMIUM, "args": args }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("no WebDriver session: {e}"),
            }
        };
        // The screen is 1366×768: the page's viewport, whatever the window adds around it.
        let extra = client
            .execute("return [window.outerHeight - window.innerHeight, window.outerWidth - window.innerWidth]", vec![])
            .await
            .unwrap_or_default();
        let dy = extra[0].as_u64().unwrap_or(0) as u32;
        let dx = extra[1].as_u64().unwrap_or(0) as u32;
        client
            .set_window_size(1366 + dx, 768 + dy)
            .await
            .expect("window size");
        Browser {
            client,
            driver,
            driver_url: url,
            _profile: profile,
        }
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
    }

    pub async fn find(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(e) => e,
            Err(e) => panic!(
                "no `{css}` on {}: {e}\n{}",
                self.url().await,
                self.text().await
            ),
        }
    }

    pub async fn has(&self, css: &str) -> bool {
        !self
            .client
            .find_all(Locator::Css(css))
            .await
            .expect("find")
            .is_empty()
    }

    pub async fn url(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default()
    }

    pub async fn path(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|u| u.path().to_owned())
            .unwrap_or_default()
    }

    /// The page's visible text.
    pub async fn text(&self) -> String {
        self.js("return document.body.innerText", vec![])
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client.execute(script, args).await.expect("script")
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        for attempt in 0.. {
            let e = self.find(css).await;
            match async {
                e.clear().await?;
                e.send_keys(text).await
            }
            .await
            {
                Ok(()) => return,
                Err(_) if attempt < 5 => tokio::time::sleep(Duration::from_millis(100)).await,
                Err(err) => panic!("type into {css}: {err}"),
            }
        }
    }

    pub async fn choose(&self, css: &str, value: &str) {
        self.find(css)
            .await
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("choose {value} in {css}: {e}"));
    }

    /// Clicks `css`, finding it again if the page replaced it meanwhile (htmx swaps, a
    /// navigation finishing).
    pub async fn click(&self, css: &str) {
        for attempt in 0.. {
            match self.find(css).await.click().await {
                Ok(()) => return,
                Err(e) if attempt < 5 => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("click {css} on {}: {e}", self.url().await),
            }
        }
    }

    /// Waits until the visible text contains `needle`.
    pub async fn wait_text(&self, needle: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let text = self.text().await;
            if text.contains(needle) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "waited {limit:?} for {needle:?} on {}:\n{text}",
                self.url().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Saves a screenshot of the window as `target/screenshots/NAME.png`.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::write(screenshot_dir().join(format!("{name}.png")), png).expect("write png");
    }

    /// Sends a DevTools protocol command to the page (chromedriver's `goog/cdp/execute`),
    /// e.g. `Emulation.setEmulatedMedia` to see the print layout; its result.
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        let session = self
            .client
            .session_id()
            .await
            .expect("session id")
            .expect("a session");
        let url = format!("{}/session/{session}/goog/cdp/execute", self.driver_url);
        let body = json!({ "cmd": cmd, "params": params });
        tokio::task::spawn_blocking(move || {
            let mut response = ureq::post(&url).send_json(&body).expect("cdp command");
            let answer: Value = response.body_mut().read_json().expect("cdp answer");
            answer["value"].clone()
        })
        .await
        .expect("cdp task")
    }

    /// The page printed to PDF by Chromium (WebDriver's Print Page, i.e. DevTools'
    /// `Page.printToPDF`) on A4 landscape.
    pub async fn print_a4_landscape(&self) -> Vec<u8> {
        use fantoccini::wd::{PrintConfiguration, PrintOrientation, PrintSize};
        let config = PrintConfiguration::builder()
            .orientation(PrintOrientation::Landscape)
            .size(PrintSize::A4)
            .background(true)
            .build()
            .expect("print configuration");
        self.client.print(config).await.expect("print to PDF")
    }

    /// Logs in on the pages at `base`.
    pub async fn login(&self, base: &str, name: &str, password: &str) {
        self.goto(&format!("{base}/masuk")).await;
        self.type_into("#username", name).await;
        self.type_into("#password", password).await;
        self.click("form button[type=submit]").await;
        self.find("form[action='/keluar']").await;
    }

    pub async fn logout(&self) {
        self.click("form[action='/keluar'] button").await;
        self.find("#username").await;
    }
}
