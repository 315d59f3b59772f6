//! A small HTTP/1.1 server for tests: std::net on 127.0.0.1, one thread per
//! connection, `Connection: close` after each response.
//!
//! Each path has a script: one-shot replies used in order, then a reply
//! used for every further request. The server records every request (path
//! and Range header) so tests can assert what was fetched.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

#[derive(Debug, Clone)]
pub enum Reply {
    /// 200 with the body; a Range request gets 206 with the range.
    File(Vec<u8>),
    /// 200 with the whole body, whatever the Range header says.
    FileIgnoringRange(Vec<u8>),
    /// Like `File`, but the connection is cut after `after` bytes of the body
    /// (the headers announce the full length).
    Cut { body: Vec<u8>, after: usize },
    /// An empty response with this status.
    Status(u16),
    /// 302 to this location (absolute URL or path).
    Redirect(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub path: String,
    pub range: Option<String>,
}

#[derive(Default)]
struct Script {
    once: VecDeque<Reply>,
    always: Option<Reply>,
}

#[derive(Default)]
struct State {
    scripts: Mutex<HashMap<String, Script>>,
    requests: Mutex<Vec<Request>>,
    delay: Mutex<Duration>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

pub struct TestServer {
    addr: SocketAddr,
    state: Arc<State>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    pub fn start() -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local_addr");
        let state = Arc::new(State::default());
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let state = Arc::clone(&state);
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let state = Arc::clone(&state);
                    thread::spawn(move || handle(stream, &state));
                }
            })
        };
        TestServer {
            addr,
            state,
            stop,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:<port><path>`
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Serve `body` at `path` for every request (Range supported).
    pub fn serve(&self, path: &str, body: &[u8]) {
        self.script(path, vec![], Reply::File(body.to_vec()));
    }

    /// One-shot replies for `path`, then `always`.
    pub fn script(&self, path: &str, once: Vec<Reply>, always: Reply) {
        let mut scripts = self.state.scripts.lock().expect("scripts lock");
        scripts.insert(
            path.to_string(),
            Script {
                once: once.into(),
                always: Some(always),
            },
        );
    }

    /// Wait this long before answering each request.
    pub fn set_delay(&self, delay: Duration) {
        *self.state.delay.lock().expect("delay lock") = delay;
    }

    /// All requests for `path`, in order.
    pub fn requests(&self, path: &str) -> Vec<Request> {
        let all = self.state.requests.lock().expect("requests lock");
        all.iter().filter(|r| r.path == path).cloned().collect()
    }

    /// Every request, in the order they arrived.
    pub fn all_requests(&self) -> Vec<Request> {
        self.state.requests.lock().expect("requests lock").clone()
    }

    /// How many requests `path` got.
    pub fn hits(&self, path: &str) -> usize {
        self.requests(path).len()
    }

    /// The most requests that were being answered at the same time.
    pub fn max_in_flight(&self) -> usize {
        self.state.max_in_flight.load(Ordering::SeqCst)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn handle(stream: TcpStream, state: &State) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return; // the Drop wake-up, or a client that gave up
    }
    let mut range = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.trim().eq_ignore_ascii_case("range") {
                range = Some(value.trim().to_string());
            }
        }
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("");
    let path = parts.next().unwrap_or("").to_string();

    let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    state.max_in_flight.fetch_max(now, Ordering::SeqCst);
    state.requests.lock().expect("requests lock").push(Request {
        path: path.clone(),
        range: range.clone(),
    });
    let delay = *state.delay.lock().expect("delay lock");
    if !delay.is_zero() {
        thread::sleep(delay);
    }
    let reply = {
        let mut scripts = state.scripts.lock().expect("scripts lock");
        scripts
            .get_mut(&path)
            .and_then(|s| s.once.pop_front().or_else(|| s.always.clone()))
    };
    let mut out = stream;
    if method != "GET" {
        respond(&mut out, 405, &[], b"");
    } else {
        match reply {
            None => respond(&mut out, 404, &[], b""),
            Some(Reply::Status(code)) => respond(&mut out, code, &[], b""),
            Some(Reply::Redirect(to)) => respond(&mut out, 302, &[("Location", to)], b""),
            Some(Reply::FileIgnoringRange(body)) => respond(&mut out, 200, &[], &body),
            Some(Reply::File(body)) => serve_file(&mut out, &body, range.as_deref()),
            Some(Reply::Cut { body, after }) => {
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = out.write_all(head.as_bytes());
                let _ = out.write_all(&body[..after.min(body.len())]);
                let _ = out.flush();
                let _ = out.shutdown(Shutdown::Both);
            }
        }
    }
    state.in_flight.fetch_sub(1, Ordering::SeqCst);
}

fn serve_file(out: &mut TcpStream, body: &[u8], range: Option<&str>) {
    let Some(range) = range else {
        return respond(out, 200, &[], body);
    };
    // Only `bytes=<first>-` and `bytes=<first>-<last>`.
    let parsed = range.strip_prefix("bytes=").and_then(|r| {
        let (a, b) = r.split_once('-')?;
        let first: usize = a.trim().parse().ok()?;
        let last: usize = if b.trim().is_empty() {
            body.len().checked_sub(1)?
        } else {
            b.trim().parse().ok()?
        };
        Some((first, last.min(body.len().saturating_sub(1))))
    });
    match parsed {
        Some((first, last)) if first < body.len() && first <= last => {
            let cr = format!("bytes {first}-{last}/{}", body.len());
            respond(out, 206, &[("Content-Range", cr)], &body[first..=last]);
        }
        _ => {
            let cr = format!("bytes */{}", body.len());
            respond(out, 416, &[("Content-Range", cr)], b"");
        }
    }
}

fn respond(out: &mut TcpStream, code: u16, headers: &[(&str, String)], body: &[u8]) {
    let reason = match code {
        200 => "OK",
        206 => "Partial Content",
        302 => "Found",
        404 => "Not Found",
        416 => "Range Not Satisfiable",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    };
    let mut head = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = out.write_all(head.as_bytes());
    let _ = out.write_all(body);
    let _ = out.flush();
    let _ = out.shutdown(Shutdown::Write);
}
