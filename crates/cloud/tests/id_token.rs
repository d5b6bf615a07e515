//! The ID-token exchange against a scripted IAM (a raw in-process HTTP/1.1 server): what the
//! client sends, and that it holds up like the password token request (README, security): a
//! redirect is an error and never followed, a source without a token sends nothing.

use std::sync::{Arc, Mutex};

use secrecy::SecretString;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use vpcep_cloud::auth::{
    Credentials, IAM_ID_TOKEN, ID_TOKEN_SOURCE, IdTokenAuth, IdTokenError, IdTokenFuture,
    IdTokenSource,
};
use vpcep_cloud::config::{CloudConfig, CloudKind};
use vpcep_cloud::{ClientSettings, CloudError, ErrorKind, VpcepClient, api};

/// A request as received: head (lower-cased header names) and body.
#[derive(Debug, Clone)]
struct Received {
    head: String,
    body: String,
}

/// Answers every request with `answer` and records it.
async fn serve(answer: String) -> (String, Arc<Mutex<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (log, answer) = (log.clone(), answer.clone());
            tokio::spawn(async move {
                let mut stream = BufReader::new(stream);
                let mut head = String::new();
                loop {
                    let mut line = String::new();
                    if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    if line == "\r\n" {
                        break;
                    }
                    head.push_str(&line.to_ascii_lowercase());
                }
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                let mut body = vec![0; length];
                stream.read_exact(&mut body).await.unwrap();
                let body = String::from_utf8(body).unwrap();
                log.lock().unwrap().push(Received { head, body });
                let _ = stream.get_mut().write_all(answer.as_bytes()).await;
            });
        }
    });
    (url, seen)
}

#[derive(Debug)]
struct Fixed(Result<&'static str, IdTokenError>);

impl IdTokenSource for Fixed {
    fn id_token(&self) -> IdTokenFuture<'_> {
        let token = self.0.clone().map(SecretString::from);
        Box::pin(async move { token })
    }
}

const JWT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2lnbmF0dXJl";

fn client(iam: &str, source: Fixed) -> VpcepClient {
    let config = CloudConfig {
        kind: CloudKind::Otc,
        endpoint: "http://127.0.0.1:9".into(),
        region: "eu-de".into(),
        project_id: "p1".into(),
        credentials: Credentials::IdToken(IdTokenAuth {
            identity_provider_id: "k8s-idp".into(),
            iam_endpoint: format!("{iam}/v3"),
            source: Arc::new(source),
        }),
    };
    VpcepClient::new(&config, ClientSettings::default()).unwrap()
}

#[tokio::test]
async fn the_exchange_names_the_provider_and_the_project() {
    let refusal = r#"{"error":{"code":401,"message":"The ID token is invalid: expired.","title":"Unauthorized"}}"#;
    let (iam, seen) = serve(format!(
        "HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{refusal}",
        refusal.len()
    ))
    .await;
    let err = client(&iam, Fixed(Ok(JWT)))
        .execute(api::get_quotas(None))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    let text = err.to_string();
    assert!(text.starts_with(IAM_ID_TOKEN), "{text}");
    assert!(text.contains("expired"), "{text}");
    assert!(!text.contains(JWT), "{text}");

    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen.len(),
        1,
        "a refused exchange is not repeated: {seen:?}"
    );
    let Received { head, body } = &seen[0];
    assert!(
        head.starts_with("post /v3.0/os-auth/id-token/tokens http/1.1"),
        "{head}"
    );
    assert!(head.contains("x-idp-id: k8s-idp\r\n"), "{head}");
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"auth": {
            "id_token": {"id": JWT},
            "scope": {"project": {"id": "p1"}},
        }})
    );
}

#[tokio::test]
async fn a_redirecting_iam_is_not_followed() {
    let (target, target_seen) = serve("HTTP/1.1 500 No\r\ncontent-length: 0\r\n\r\n".into()).await;
    let (iam, _) = serve(format!(
        "HTTP/1.1 307 Temporary Redirect\r\nlocation: {target}/v3.0/OS-AUTH/id-token/tokens\r\ncontent-length: 0\r\n\r\n"
    ))
    .await;
    let err = client(&iam, Fixed(Ok(JWT)))
        .execute(api::get_quotas(None))
        .await
        .unwrap_err();
    assert!(matches!(err, CloudError::Redirect { .. }), "{err}");
    assert!(
        target_seen.lock().unwrap().is_empty(),
        "the ID token went to the redirect target"
    );
}

#[tokio::test]
async fn a_source_without_a_token_sends_nothing() {
    let (iam, seen) = serve("HTTP/1.1 500 No\r\ncontent-length: 0\r\n\r\n".into()).await;
    for (error, kind) in [
        (
            IdTokenError::permanent("/var/run/secrets/tokens/vpcep: no such file"),
            ErrorKind::Unauthorized,
        ),
        (
            IdTokenError::transient("the API server did not answer"),
            ErrorKind::Transport,
        ),
    ] {
        let message = error.message.clone();
        let err = client(&iam, Fixed(Err(error)))
            .execute(api::get_quotas(None))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), kind, "{err}");
        let text = err.to_string();
        assert!(text.starts_with(ID_TOKEN_SOURCE), "{text}");
        assert!(text.contains(&message), "{text}");
    }
    assert!(seen.lock().unwrap().is_empty());
}
