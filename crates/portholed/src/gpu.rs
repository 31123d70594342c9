//! GPU discovery with nvidia-smi, and the API's names for the cards (docs/providers/comfydeploy.md §5.6 MachineGPU).

use std::process::Stdio;
use std::time::Duration;

use crate::wire::GpuItem;

/// The always-available resource.
pub const CPU: &str = "CPU";

/// Asks `program` (normally `nvidia-smi`) for the GPUs. No program, a failure or a timeout all
/// mean "no GPUs": CPU is always offered.
pub async fn discover(program: &str) -> Vec<GpuItem> {
    if program.is_empty() {
        return Vec::new();
    }
    let mut cmd = tokio::process::Command::new(program);
    cmd.args([
        "--query-gpu=index,name,memory.total",
        "--format=csv,noheader,nounits",
    ])
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .kill_on_drop(true);
    let Ok(child) = cmd.spawn() else {
        return Vec::new();
    };
    match tokio::time::timeout(Duration::from_secs(10), child.wait_with_output()).await {
        Ok(Ok(out)) if out.status.success() => parse(&String::from_utf8_lossy(&out.stdout)),
        Ok(Ok(out)) => {
            tracing::warn!(status = %out.status, "nvidia-smi failed; offering CPU only");
            Vec::new()
        }
        _ => {
            tracing::warn!("nvidia-smi did not answer; offering CPU only");
            Vec::new()
        }
    }
}

/// Parses `nvidia-smi --query-gpu=index,name,memory.total --format=csv,noheader,nounits`.
/// Lines that do not parse are skipped.
pub fn parse(output: &str) -> Vec<GpuItem> {
    output
        .lines()
        .filter_map(|line| {
            let mut parts = line.split(',').map(str::trim);
            let index = parts.next()?.parse::<u32>().ok()?;
            let model = parts.next()?.to_owned();
            let memory_mib = parts.next()?.parse::<u64>().ok()?;
            if model.is_empty() {
                return None;
            }
            Some(GpuItem {
                name: spec_name(&model, memory_mib),
                index,
                memory_mib,
                model,
                ..GpuItem::default()
            })
        })
        .collect()
}

/// The spec's MachineGPU name for a card, or the card's own name without the vendor prefix.
pub fn spec_name(model: &str, memory_mib: u64) -> String {
    let upper = model.to_ascii_uppercase();
    let has = |needle: &str| {
        upper
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|word| word == needle)
    };
    let name = if has("B200") {
        "B200"
    } else if has("H200") {
        "H200"
    } else if has("H100") {
        "H100"
    } else if has("A100") {
        if upper.contains("80GB") || memory_mib > 60_000 {
            "A100-80GB"
        } else {
            "A100"
        }
    } else if has("L40S") {
        "L40S"
    } else if has("A10G") {
        "A10G"
    } else if has("L4") {
        "L4"
    } else if has("T4") {
        "T4"
    } else {
        let trimmed = model
            .trim_start_matches("NVIDIA ")
            .trim_start_matches("Tesla ")
            .trim();
        return trimmed.to_owned();
    };
    name.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_real_nvidia_smi_output() {
        let out = "0, NVIDIA H100 80GB HBM3, 81559\n\
                   1, NVIDIA A100-SXM4-80GB, 81920\n\
                   2, NVIDIA A100-PCIE-40GB, 40960\n\
                   3, Tesla T4, 15360\n\
                   4, NVIDIA L4, 23034\n\
                   5, NVIDIA A10G, 23028\n\
                   6, NVIDIA L40S, 46068\n\
                   7, NVIDIA GeForce RTX 4090, 24564\n\
                   8, NVIDIA H200, 143771\n\
                   9, NVIDIA B200, 183359\n";
        let gpus = parse(out);
        let names: Vec<&str> = gpus.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "H100",
                "A100-80GB",
                "A100",
                "T4",
                "L4",
                "A10G",
                "L40S",
                "GeForce RTX 4090",
                "H200",
                "B200"
            ]
        );
        assert_eq!(gpus[0].index, 0);
        assert_eq!(gpus[0].memory_mib, 81559);
        assert_eq!(gpus[0].model, "NVIDIA H100 80GB HBM3");
        assert_eq!(gpus[9].index, 9);
    }

    #[test]
    fn skips_garbage_lines() {
        let gpus =
            parse("\nNo devices were found\n0, NVIDIA L4, [N/A]\nx, y, z\n1, NVIDIA L4, 23034\n");
        assert_eq!(gpus.len(), 1);
        assert_eq!(gpus[0].index, 1);
    }

    #[tokio::test]
    async fn a_missing_program_means_no_gpus() {
        assert!(discover("/nonexistent/nvidia-smi").await.is_empty());
        assert!(discover("").await.is_empty());
    }
}
