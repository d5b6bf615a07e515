//! `scripts/image.sh`: the operator's OCI archive holds what deploy/ expects of it — one layer with
//! the static binary, the CA certificates and the non-root user, nothing else; user 65532; the
//! entrypoint `vpcep-operator run`; the crate version as tag — and building it again from the
//! same binary gives the same bytes.

mod support;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::fixtures::success_stdout;

const REPO: &str = env!("CARGO_MANIFEST_DIR");
const VERSION: &str = env!("CARGO_PKG_VERSION");
const CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

fn run(what: &str, command: &mut Command) -> String {
    success_stdout(
        what,
        command.output().unwrap_or_else(|e| panic!("{what}: {e}")),
    )
}

fn build_image(output: &Path) {
    let mut command = Command::new(Path::new(REPO).join("scripts/image.sh"));
    command
        .args(["--component", "operator", "--output"])
        .arg(output);
    // The variables cargo sets for this test (CARGO_MANIFEST_DIR, CARGO_PKG_*, ...) would reach the
    // build scripts of the script's cargo build (ring's reads CARGO_MANIFEST_DIR), which cargo
    // then rebuilds whenever they differ from a build run from a shell.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if [
            "CARGO_MANIFEST_",
            "CARGO_PKG_",
            "CARGO_CRATE_",
            "CARGO_BIN_",
            "CARGO_PRIMARY_",
        ]
        .iter()
        .any(|prefix| name.starts_with(prefix))
        {
            command.env_remove(&*name);
        }
    }
    run("scripts/image.sh", &mut command);
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

/// The blob a descriptor points to, in the OCI layout at `layout`.
fn blob(layout: &Path, descriptor: &Value) -> PathBuf {
    let digest = descriptor["digest"].as_str().unwrap();
    let (algorithm, hex) = digest.split_once(':').unwrap();
    layout.join("blobs").join(algorithm).join(hex)
}

/// Whether the ELF file has a PT_INTERP program header (a dynamic loader to run it).
fn has_program_interpreter(elf: &[u8]) -> bool {
    assert_eq!(&elf[..4], b"\x7fELF", "not an ELF file");
    assert_eq!(elf[4], 2, "not a 64-bit ELF file");
    let u16_at = |at: usize| u16::from_le_bytes(elf[at..at + 2].try_into().unwrap()) as usize;
    let phoff = u64::from_le_bytes(elf[0x20..0x28].try_into().unwrap()) as usize;
    let (phentsize, phnum) = (u16_at(0x36), u16_at(0x38));
    const PT_INTERP: u32 = 3;
    (0..phnum).any(|i| {
        let at = phoff + i * phentsize;
        u32::from_le_bytes(elf[at..at + 4].try_into().unwrap()) == PT_INTERP
    })
}

#[test]
#[ignore = "builds the release image (minutes on a cold target/): run scripts/test.sh"]
fn operator_image_has_the_expected_layout_and_is_reproducible() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("image-test");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let archive = dir.join("first.oci.tar");
    build_image(&archive);

    let layout = dir.join("layout");
    fs::create_dir(&layout).unwrap();
    run(
        "tar -x (the archive)",
        Command::new("tar")
            .arg("-xf")
            .arg(&archive)
            .arg("-C")
            .arg(&layout),
    );
    let index = json(&layout.join("index.json"));
    let manifests = index["manifests"].as_array().unwrap();
    assert_eq!(manifests.len(), 1, "one image in the archive: {index}");
    assert_eq!(
        manifests[0]["annotations"]["org.opencontainers.image.ref.name"], VERSION,
        "the tag is the crate version"
    );
    let manifest = json(&blob(&layout, &manifests[0]));
    let config = json(&blob(&layout, &manifest["config"]));
    assert_eq!(config["os"], "linux");
    assert_eq!(config["architecture"], "amd64");
    assert_eq!(config["config"]["User"], "65532:65532");
    assert_eq!(
        config["config"]["Entrypoint"],
        serde_json::json!(["/vpcep-operator", "run"])
    );
    assert!(config["config"]["Cmd"].is_null(), "no Cmd: {config}");
    assert!(config["config"]["Env"].is_null(), "no Env: {config}");
    let labels = &config["config"]["Labels"];
    assert_eq!(labels["org.opencontainers.image.version"], VERSION);
    assert_eq!(labels["org.opencontainers.image.title"], "vpcep-operator");

    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1, "one layer: {manifest}");
    assert_eq!(
        layers[0]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );
    let layer = blob(&layout, &layers[0]);
    // Path -> (mode, owner): every file, and nothing else.
    let listing = run(
        "tar -t (the layer)",
        Command::new("tar")
            .args(["--numeric-owner", "-tvzf"])
            .arg(&layer),
    );
    let entries: BTreeMap<&str, (&str, &str)> = listing
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields[5], (fields[0], fields[1]))
        })
        .collect();
    let expected: BTreeMap<&str, (&str, &str)> = [
        ("./", "drwxr-xr-x"),
        ("./etc/", "drwxr-xr-x"),
        ("./etc/group", "-rw-r--r--"),
        ("./etc/passwd", "-rw-r--r--"),
        ("./etc/ssl/", "drwxr-xr-x"),
        ("./etc/ssl/certs/", "drwxr-xr-x"),
        ("./etc/ssl/certs/ca-certificates.crt", "-rw-r--r--"),
        ("./vpcep-operator", "-rwxr-xr-x"),
    ]
    .into_iter()
    .map(|(path, mode)| (path, (mode, "0/0")))
    .collect();
    assert_eq!(entries, expected, "the layer's files:\n{listing}");

    let rootfs = dir.join("rootfs");
    fs::create_dir(&rootfs).unwrap();
    run(
        "tar -x (the layer)",
        Command::new("tar")
            .arg("-xzf")
            .arg(&layer)
            .arg("-C")
            .arg(&rootfs),
    );
    let passwd = fs::read_to_string(rootfs.join("etc/passwd")).unwrap();
    assert!(
        passwd
            .lines()
            .any(|l| l.starts_with("nonroot:x:65532:65532:")),
        "{passwd}"
    );
    let group = fs::read_to_string(rootfs.join("etc/group")).unwrap();
    assert!(group.lines().any(|l| l == "nonroot:x:65532:"), "{group}");
    assert_eq!(
        fs::read(rootfs.join(&CA_BUNDLE[1..])).unwrap(),
        fs::read(CA_BUNDLE).unwrap(),
        "the CA certificates are Debian's bundle"
    );
    let binary = rootfs.join("vpcep-operator");
    assert!(
        !has_program_interpreter(&fs::read(&binary).unwrap()),
        "the binary is static (no PT_INTERP)"
    );
    let version = run(
        "vpcep-operator --version",
        Command::new(&binary).arg("--version"),
    );
    assert_eq!(version.trim(), format!("vpcep-operator {VERSION}"));

    // The same binary again (cargo has nothing to rebuild): the same archive, byte for byte.
    let again = dir.join("again.oci.tar");
    build_image(&again);
    assert!(
        fs::read(&archive).unwrap() == fs::read(&again).unwrap(),
        "rebuilding the image from the same binary changed the archive"
    );
}
