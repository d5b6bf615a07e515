//! The client against a hostile endpoint (README, security: every byte the endpoint returns is
//! untrusted): a raw in-process HTTP/1.1 server that redirects, streams without end, or pages
//! forever. Each case must end in a bounded error, without contacting anyone else.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use secrecy::SecretString;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use vpcep_cloud::api;
use vpcep_cloud::auth::{AkSk, Credentials, PasswordAuth};
use vpcep_cloud::config::{CloudConfig, CloudKind};
use vpcep_cloud::model::ServiceQuery;
use vpcep_cloud::{ClientSettings, CloudError, ErrorKind, MAX_BODY_BYTES, MAX_PAGES, VpcepClient};

/// What the server answers to one request, given its request line.
enum Answer {
    /// A complete response, written as is.
    Fixed(String),
    /// A chunked 200 whose body never ends: chunks until the client hangs up.
    Endless,
}

/// Counters of one server.
#[derive(Default)]
struct Counts {
    connections: AtomicUsize,
    requests: AtomicUsize,
    /// Body bytes written by `Answer::Endless`.
    streamed: AtomicUsize,
    /// Connections whose handling has ended (the client hung up).
    closed: AtomicUsize,
}

struct Server {
    addr: SocketAddr,
    counts: Arc<Counts>,
}

impl Server {
    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn get(&self, counter: fn(&Counts) -> &AtomicUsize) -> usize {
        counter(&self.counts).load(Ordering::SeqCst)
    }
}

async fn serve(answer: impl Fn(&str) -> Answer + Send + Sync + 'static) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let counts = Arc::new(Counts::default());
    let answer = Arc::new(answer);
    let c = counts.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            c.connections.fetch_add(1, Ordering::SeqCst);
            let (c, answer) = (c.clone(), answer.clone());
            tokio::spawn(async move {
                // An error only means that the client hung up.
                let _ = connection(stream, &c, &*answer).await;
                c.closed.fetch_add(1, Ordering::SeqCst);
            });
        }
    });
    Server { addr, counts }
}

/// Serves the requests of one keep-alive connection.
async fn connection(
    stream: TcpStream,
    counts: &Counts,
    answer: &(dyn Fn(&str) -> Answer + Send + Sync),
) -> std::io::Result<()> {
    let mut stream = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if stream.read_line(&mut request_line).await? == 0 {
            return Ok(());
        }
        let mut body_len = 0;
        loop {
            let mut line = String::new();
            stream.read_line(&mut line).await?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                body_len = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; body_len];
        stream.read_exact(&mut body).await?;
        counts.requests.fetch_add(1, Ordering::SeqCst);
        match answer(&request_line) {
            Answer::Fixed(response) => stream.get_mut().write_all(response.as_bytes()).await?,
            Answer::Endless => {
                let out = stream.get_mut();
                out.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n")
                    .await?;
                let chunk = vec![b' '; 64 * 1024];
                loop {
                    out.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                        .await?;
                    out.write_all(&chunk).await?;
                    out.write_all(b"\r\n").await?;
                    counts.streamed.fetch_add(chunk.len(), Ordering::SeqCst);
                }
            }
        }
    }
}

fn json(status: &str, body: &str) -> Answer {
    Answer::Fixed(format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    ))
}

fn redirect(status: &str, to: &str) -> Answer {
    Answer::Fixed(format!(
        "HTTP/1.1 {status}\r\nlocation: {to}\r\ncontent-length: 0\r\n\r\n"
    ))
}

/// No client-side rate limit gets in the way of a listing of many pages.
fn settings() -> ClientSettings {
    ClientSettings {
        rate_per_second: NonZeroU32::new(10_000).expect("non-zero"),
        burst: NonZeroU32::new(10_000).expect("non-zero"),
        ..ClientSettings::default()
    }
}

fn aksk_client(endpoint: &str) -> VpcepClient {
    let config = CloudConfig {
        kind: CloudKind::Otc,
        endpoint: endpoint.into(),
        region: "eu-de".into(),
        project_id: "p".into(),
        credentials: Credentials::AkSk(AkSk {
            access_key: "AK".into(),
            secret_key: SecretString::from("SK"),
            security_token: None,
        }),
    };
    VpcepClient::new(&config, settings()).unwrap()
}

fn password_client(endpoint: &str, iam: &str) -> VpcepClient {
    let config = CloudConfig {
        kind: CloudKind::Otc,
        endpoint: endpoint.into(),
        region: "eu-de".into(),
        project_id: "p".into(),
        credentials: Credentials::Password(PasswordAuth {
            username: "u".into(),
            password: SecretString::from("pw"),
            domain_name: "d".into(),
            iam_endpoint: iam.into(),
        }),
    };
    VpcepClient::new(&config, settings()).unwrap()
}

fn assert_redirect(err: &CloudError, target: &Server) {
    assert!(matches!(err, CloudError::Redirect { .. }), "{err}");
    assert_eq!(err.kind(), ErrorKind::InvalidResponse);
    let text = err.to_string();
    assert!(text.contains("redirected"), "{text}");
    assert!(text.contains(&target.url()), "{text}");
}

#[tokio::test]
async fn redirects_are_errors_and_never_followed() {
    let target = serve(|_| json("200 OK", "{}")).await;
    let to = format!("{}/stolen", target.url());
    let redirecting = {
        let to = to.clone();
        serve(move |_| redirect("307 Temporary Redirect", &to)).await
    };

    // A VPCEP call with the signed headers.
    let err = aksk_client(&redirecting.url())
        .execute(api::get_service("s"))
        .await
        .unwrap_err();
    assert_redirect(&err, &target);
    // Not repeated either: a redirect is no transient failure.
    assert_eq!(redirecting.get(|c| &c.requests), 1);

    // The IAM token call with the password in its body.
    let vpcep = serve(|_| json("200 OK", "{}")).await;
    let err = password_client(&vpcep.url(), &redirecting.url())
        .execute(api::get_service("s"))
        .await
        .unwrap_err();
    assert_redirect(&err, &target);
    assert_eq!(vpcep.get(|c| &c.requests), 0, "no token, no VPCEP call");

    assert_eq!(
        target.get(|c| &c.connections),
        0,
        "the redirect target was contacted"
    );
}

#[tokio::test]
async fn endless_bodies_stop_at_the_cap() {
    let endless = serve(|_| Answer::Endless).await;
    let err = aksk_client(&endless.url())
        .execute(api::get_service("s"))
        .await
        .unwrap_err();
    assert!(matches!(err, CloudError::TooLarge { .. }), "{err}");
    assert!(err.to_string().contains("larger than"), "{err}");
    assert_eq!(err.kind(), ErrorKind::InvalidResponse);
    // The client hung up: the server's writes fail, having sent the cap plus what the socket
    // buffers hold, not an unbounded stream.
    wait_until(|| endless.get(|c| &c.closed) == 1).await;
    let streamed = endless.get(|c| &c.streamed);
    assert!(
        (MAX_BODY_BYTES..4 * MAX_BODY_BYTES + (16 << 20)).contains(&streamed),
        "{streamed} bytes streamed"
    );

    // The IAM answer is capped the same way.
    let vpcep = serve(|_| json("200 OK", "{}")).await;
    let err = password_client(&vpcep.url(), &endless.url())
        .execute(api::get_service("s"))
        .await
        .unwrap_err();
    assert!(matches!(err, CloudError::TooLarge { .. }), "{err}");

    // A Content-Length beyond the cap is refused before reading.
    let huge = serve(|_| {
        Answer::Fixed("HTTP/1.1 200 OK\r\ncontent-length: 100000000000\r\n\r\n{}".into())
    })
    .await;
    let err = aksk_client(&huge.url())
        .execute(api::get_service("s"))
        .await
        .unwrap_err();
    assert!(matches!(err, CloudError::TooLarge { .. }), "{err}");
}

/// The `offset` query parameter of a request line.
fn offset(request_line: &str) -> u64 {
    request_line
        .split(['?', '&', ' '])
        .find_map(|p| p.strip_prefix("offset="))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn endless_listings_stop_with_an_error() {
    // Every page is new, and the total always lies ahead.
    let growing = serve(|line| {
        let at = offset(line);
        json(
            "200 OK",
            &format!(
                r#"{{"endpoint_services":[{{"id":"s-{at}"}}],"total_count":{}}}"#,
                at + 1000
            ),
        )
    })
    .await;
    let err = aksk_client(&growing.url())
        .list_all(|p| api::list_services(&ServiceQuery::default(), p))
        .await
        .unwrap_err();
    assert!(matches!(err, CloudError::Paging { .. }), "{err}");
    assert!(
        err.to_string()
            .contains(&format!("after {MAX_PAGES} pages")),
        "{err}"
    );
    assert_eq!(growing.get(|c| &c.requests), MAX_PAGES);

    // The same page whatever the offset.
    let stuck = serve(|_| {
        json(
            "200 OK",
            r#"{"endpoint_services":[{"id":"a"},{"id":"b"}],"total_count":10}"#,
        )
    })
    .await;
    let err = aksk_client(&stuck.url())
        .list_all(|p| api::list_services(&ServiceQuery::default(), p))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("same page again"), "{err}");
    assert_eq!(stuck.get(|c| &c.requests), 2);
}

/// Polls `done` for up to ten seconds.
async fn wait_until(done: impl Fn() -> bool) {
    for _ in 0..200 {
        if done() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("condition not met within 10 s");
}
