//! The cluster's partitions and GPUs, from `sinfo` (one line per node and partition) and the
//! queue: what a session can ask for, what is free now, how long a partition lets it run.
//!
//! A session asks for a partition alone (no GPU) or `PARTITION/TYPE:COUNT` (`gpu/a100:2`; the
//! type `gpu` for GPUs listed without one). "CPU" is the default partition without a GPU.

use std::collections::BTreeMap;

use super::Job;
use crate::wire::GpuItem;

/// NodeList, NodeAddr, Partition (`*` marks the default), Gres, GresUsed, state, MaxTime,
/// DefaultTime: `:0` keeps each whole.
pub(crate) const SINFO_FORMAT: &str =
    "NodeList:0|,NodeAddr:0|,Partition:0|,Gres:0|,GresUsed:0|,StateCompact:0|,Time:0|,DefaultTime:0|";

/// The most GPUs of one type a session may ask for in the picker (a node may have more).
const MAX_PICKED: u32 = 8;

#[derive(Debug, Clone, PartialEq)]
pub struct NodeLine {
    pub node: String,
    pub addr: String,
    pub partition: String,
    pub default: bool,
    /// GPUs by type: `(total, used)`.
    pub gpus: BTreeMap<String, (u32, u32)>,
    pub state: String,
    pub max_secs: Option<i64>,
    pub default_secs: Option<i64>,
}

impl NodeLine {
    /// Whether jobs can start on it now or soon (not down, drained or failing).
    pub fn usable(&self) -> bool {
        let s = self
            .state
            .trim_end_matches(['*', '~', '#', '!', '%', '$', '@', '^', '-']);
        matches!(
            s,
            "idle" | "mix" | "alloc" | "comp" | "mixed" | "allocated" | "completing"
        )
    }
}

pub(crate) fn node_lines(out: &str) -> Vec<NodeLine> {
    out.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split('|').map(str::trim).collect();
            if f.len() < 8 || f[0].is_empty() {
                return None;
            }
            let (partition, default) = match f[2].strip_suffix('*') {
                Some(p) => (p, true),
                None => (f[2], false),
            };
            let total = gres_counts(f[3]);
            let used = gres_counts(f[4]);
            let gpus = total
                .iter()
                .map(|(kind, n)| (kind.clone(), (*n, used.get(kind).copied().unwrap_or(0))))
                .collect();
            Some(NodeLine {
                node: f[0].to_owned(),
                addr: f[1].to_owned(),
                partition: partition.to_owned(),
                default,
                gpus,
                state: f[5].to_owned(),
                max_secs: super::duration_secs(f[6]),
                default_secs: super::duration_secs(f[7]),
            })
        })
        .collect()
}

/// GPU counts by type in a Gres list: `gpu:a100:4(S:0-1),gpu:2,shard:8` → {a100: 4, gpu: 2}.
fn gres_counts(text: &str) -> BTreeMap<String, u32> {
    let mut out = BTreeMap::new();
    let mut depth = 0;
    let mut start = 0;
    let mut items = Vec::new();
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&text[start..]);
    for item in items {
        let item = item.split('(').next().unwrap_or_default();
        let parts: Vec<&str> = item.split(':').collect();
        let (kind, count) = match parts.as_slice() {
            ["gpu", count] => ("gpu", *count),
            ["gpu", kind, count] => (*kind, *count),
            _ => continue,
        };
        if let Ok(n) = count.parse::<u32>() {
            *out.entry(kind.to_owned()).or_insert(0) += n;
        }
    }
    out
}

/// One partition as a person picks from it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Partition {
    pub name: String,
    pub default: bool,
    pub max_secs: Option<i64>,
    pub default_secs: Option<i64>,
    /// By type: GPUs in all, free now, and the most one node has.
    pub gpus: BTreeMap<String, GpuCount>,
    pub queued: u32,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GpuCount {
    pub total: u32,
    pub free: u32,
    pub per_node: u32,
}

/// The partitions, from the node lines and the queue.
pub fn partitions(nodes: &[NodeLine], jobs: &[Job]) -> Vec<Partition> {
    let mut out: BTreeMap<&str, Partition> = BTreeMap::new();
    for line in nodes {
        let p = out.entry(&line.partition).or_insert_with(|| Partition {
            name: line.partition.clone(),
            default: line.default,
            max_secs: line.max_secs,
            default_secs: line.default_secs,
            ..Partition::default()
        });
        for (kind, (total, used)) in &line.gpus {
            let count = p.gpus.entry(kind.clone()).or_default();
            count.total += total;
            if line.usable() {
                count.free += total.saturating_sub(*used);
            }
            count.per_node = count.per_node.max(*total);
        }
    }
    for job in jobs.iter().filter(|j| j.pending()) {
        for name in job.partition.split(',') {
            if let Some(p) = out.get_mut(name) {
                p.queued += 1;
            }
        }
    }
    out.into_values().collect()
}

impl Partition {
    /// What a session can ask of it: itself without a GPU, then each type by count.
    pub fn items(&self) -> Vec<GpuItem> {
        let max_minutes = self.max_secs.map(|s| s / 60);
        let mut out = vec![GpuItem {
            name: self.name.clone(),
            model: format!("no GPU on {}", self.name),
            queued: Some(self.queued),
            max_minutes,
            ..GpuItem::default()
        }];
        for (kind, count) in &self.gpus {
            for n in 1..=count.per_node.min(MAX_PICKED) {
                out.push(GpuItem {
                    name: format!("{}/{kind}:{n}", self.name),
                    model: format!("{n} × {kind} on {}", self.name),
                    count: Some(n),
                    free: Some(count.free),
                    total: Some(count.total),
                    queued: Some(self.queued),
                    max_minutes,
                    ..GpuItem::default()
                });
            }
        }
        out
    }
}

/// What a launch asks for, read from the resource it names.
#[derive(Debug, Clone, PartialEq)]
pub struct Ask {
    pub partition: String,
    pub gpus: Option<(String, u32)>,
    pub max_secs: Option<i64>,
}

/// Reads `wanted` (`CPU`, `PARTITION`, `PARTITION/TYPE[:COUNT]`, or a GPU type alone) against
/// the partitions; the error names what there is.
pub fn ask(wanted: &str, partitions: &[Partition], default: Option<&str>) -> Result<Ask, String> {
    let offered = || {
        let names: Vec<String> = partitions
            .iter()
            .flat_map(|p| p.items())
            .map(|i| i.name)
            .collect();
        format!(
            "{wanted} is not something this cluster offers. Available: {}",
            names.join(", ")
        )
    };
    let default_partition = || {
        default
            .and_then(|d| partitions.iter().find(|p| p.name == d))
            .or_else(|| partitions.iter().find(|p| p.default))
            .or_else(|| partitions.first())
    };
    let (partition, gpus) = if wanted.eq_ignore_ascii_case(crate::gpu::CPU) {
        (default_partition().ok_or_else(offered)?, None)
    } else if let Some((name, gpu)) = wanted.split_once('/') {
        let p = partitions
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(offered)?;
        let (kind, count) = match gpu.split_once(':') {
            Some((kind, n)) => (kind, n.parse::<u32>().map_err(|_| offered())?),
            None => (gpu, 1),
        };
        (p, Some((kind.to_owned(), count)))
    } else if let Some(p) = partitions.iter().find(|p| p.name == wanted) {
        (p, None)
    } else {
        // A GPU type alone: the first partition that has it (the default one first).
        let mut ordered: Vec<&Partition> = partitions.iter().collect();
        ordered.sort_by_key(|p| !p.default);
        let p = ordered
            .into_iter()
            .find(|p| p.gpus.contains_key(wanted))
            .ok_or_else(offered)?;
        (p, Some((wanted.to_owned(), 1)))
    };
    if let Some((kind, count)) = &gpus {
        let have = partition.gpus.get(kind).ok_or_else(offered)?;
        if *count == 0 || *count > have.per_node {
            return Err(format!(
                "{count} × {kind} cannot run on partition {}: its nodes have at most {}",
                partition.name, have.per_node
            ));
        }
    }
    Ok(Ask {
        partition: partition.name.clone(),
        gpus,
        max_secs: partition.max_secs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SINFO: &str = "localhost|127.0.0.1|cpu*|gpu:fake:2|gpu:fake:1(IDX:0)|mix|infinite|n/a|\n\
                         localhost|127.0.0.1|gpu|gpu:fake:2|gpu:fake:1(IDX:0)|mix|10:00|5:00|\n\
                         n2|10.0.0.2|gpu|gpu:fake:4(S:0-1),gpu:1|gpu:fake:0(IDX:N/A),gpu:0|drain|10:00|5:00|\n";

    #[test]
    fn sinfo_lines_give_partitions_with_their_gpus_free_and_in_all() {
        let nodes = node_lines(SINFO);
        assert_eq!(nodes.len(), 3);
        assert_eq!(nodes[0].addr, "127.0.0.1");
        assert!(nodes[0].default && !nodes[1].default);
        assert_eq!(nodes[2].gpus.get("fake"), Some(&(4, 0)));
        assert_eq!(nodes[2].gpus.get("gpu"), Some(&(1, 0)));
        assert!(!nodes[2].usable(), "drained");
        let pending =
            super::super::parse::jobs("9|PENDING|Resources|N/A|N/A|5:00||gpu|1|root|(null)\n");
        let parts = partitions(&nodes, &pending);
        let gpu = parts.iter().find(|p| p.name == "gpu").unwrap();
        assert_eq!(gpu.max_secs, Some(600));
        assert_eq!(gpu.queued, 1);
        // 2 + 4 in all, 1 free (the drained node's do not count), up to 4 on one node.
        assert_eq!(
            gpu.gpus.get("fake"),
            Some(&GpuCount {
                total: 6,
                free: 1,
                per_node: 4
            })
        );
        let names: Vec<String> = gpu.items().into_iter().map(|i| i.name).collect();
        assert_eq!(
            names,
            [
                "gpu",
                "gpu/fake:1",
                "gpu/fake:2",
                "gpu/fake:3",
                "gpu/fake:4",
                "gpu/gpu:1"
            ]
        );
    }

    #[test]
    fn a_launch_names_a_partition_a_type_and_a_count_or_gets_the_choices() {
        let parts = partitions(&node_lines(SINFO), &[]);
        let ask_for = |w: &str| ask(w, &parts, None);
        assert_eq!(
            ask_for("CPU").unwrap(),
            Ask {
                partition: "cpu".into(),
                gpus: None,
                max_secs: None
            }
        );
        assert_eq!(
            ask_for("gpu/fake:2").unwrap().gpus,
            Some(("fake".into(), 2))
        );
        assert_eq!(ask_for("gpu/fake").unwrap().gpus, Some(("fake".into(), 1)));
        assert_eq!(ask_for("gpu").unwrap().gpus, None);
        // A type alone: the default partition has it.
        assert_eq!(ask_for("fake").unwrap().partition, "cpu");
        assert_eq!(
            ask(crate::gpu::CPU, &parts, Some("gpu")).unwrap().partition,
            "gpu"
        );
        let err = ask_for("gpu/fake:5").unwrap_err();
        assert!(err.contains("at most 4"), "{err}");
        let err = ask_for("a100").unwrap_err();
        assert!(err.contains("Available: cpu, cpu/fake:1"), "{err}");
    }
}
