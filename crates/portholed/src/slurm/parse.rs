//! Reading what Slurm's tools print: `squeue` lines in our own format, `scontrol --oneliner`
//! records, and Slurm's durations.

/// id, state, reason, end, start, time limit, nodes, partition, priority, user, comment (last:
/// it is free text and may hold the separator). Times are seconds since the epoch
/// (`SLURM_TIME_FORMAT=%s`).
pub(crate) const SQUEUE_FORMAT: &str = "%i|%T|%r|%e|%S|%l|%N|%P|%Q|%u|%k";

/// One job as `squeue` lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: String,
    /// `PENDING`, `RUNNING`, `COMPLETED`, `TIMEOUT`, `CANCELLED`, `FAILED`, `NODE_FAIL`…
    pub state: String,
    /// Why it waits (`Priority`, `Resources`) or ended (`NonZeroExitCode`); `None` is "None".
    pub reason: String,
    pub end: Option<i64>,
    pub start: Option<i64>,
    /// Its time limit in seconds (`None`: unlimited).
    pub limit_secs: Option<i64>,
    pub nodes: String,
    pub partition: String,
    pub priority: u64,
    pub user: String,
    pub comment: String,
}

impl Job {
    pub fn pending(&self) -> bool {
        self.state == "PENDING"
    }

    pub fn running(&self) -> bool {
        matches!(self.state.as_str(), "RUNNING" | "COMPLETING")
    }

    /// Neither waiting nor running (the job is over, whatever Slurm still shows).
    pub fn finished(&self) -> bool {
        over(&self.state)
    }
}

/// Whether a job in `state` is over (`CANCELLED by 0` counts as `CANCELLED`); a state this
/// does not know (`SUSPENDED`, `REQUEUED`…) is not.
pub(crate) fn over(state: &str) -> bool {
    matches!(
        state.split_whitespace().next().unwrap_or_default(),
        "COMPLETED"
            | "FAILED"
            | "TIMEOUT"
            | "CANCELLED"
            | "NODE_FAIL"
            | "OUT_OF_MEMORY"
            | "PREEMPTED"
            | "BOOT_FAIL"
            | "DEADLINE"
            | "SPECIAL_EXIT"
            | "REVOKED"
    )
}

pub(crate) fn jobs(out: &str) -> Vec<Job> {
    out.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.trim_end_matches('\r').splitn(11, '|').collect();
            if f.len() < 11 || f[0].trim().is_empty() {
                return None;
            }
            Some(Job {
                id: f[0].trim().to_owned(),
                state: f[1].trim().to_owned(),
                reason: f[2].trim().to_owned(),
                end: f[3].trim().parse().ok(),
                start: f[4].trim().parse().ok(),
                limit_secs: duration_secs(f[5].trim()),
                nodes: f[6].trim().to_owned(),
                partition: f[7].trim().to_owned(),
                priority: f[8].trim().parse().unwrap_or(0),
                user: f[9].trim().to_owned(),
                comment: f[10].trim().to_owned(),
            })
        })
        .collect()
}

/// A Slurm duration (`MM:SS`, `H:MM:SS`, `D-HH:MM:SS`, or minutes alone) in seconds; `None` for
/// `UNLIMITED`, `INFINITE`, `NOT_SET`, `N/A` or anything unreadable.
pub fn duration_secs(text: &str) -> Option<i64> {
    let (days, rest) = match text.split_once('-') {
        Some((d, rest)) => (d.parse::<i64>().ok()?, rest),
        None => (0, text),
    };
    let parts: Vec<i64> = rest
        .split(':')
        .map(|p| p.parse::<i64>().ok())
        .collect::<Option<_>>()?;
    let secs = match parts.as_slice() {
        [m] if days == 0 => m * 60,
        [h] => h * 3600,
        [m, s] if days == 0 => m * 60 + s,
        [h, m] => h * 3600 + m * 60,
        [h, m, s] => h * 3600 + m * 60 + s,
        _ => return None,
    };
    Some(days * 86_400 + secs)
}

/// `JobState` and `ExitCode` of a `scontrol --oneliner show job` record.
pub(crate) fn state_and_exit(record: &str) -> Option<(String, String)> {
    let field = |name: &str| {
        record
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .map(str::to_owned)
    };
    Some((field("JobState")?, field("ExitCode").unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn squeue_lines_are_read_field_by_field() {
        // As squeue 22.05 printed them on the test cluster (SLURM_TIME_FORMAT=%s).
        let out = "2|FAILED|NonZeroExitCode|1796534052|1796534052|UNLIMITED|localhost|cpu|4294901758|root|(null)\n\
                   4|PENDING|Resources|N/A|N/A|5:00||gpu|4294901756|root|portholed:t:a|b\n\
                   3|RUNNING|None|1796534352|1796534052|1:05:00|localhost|gpu|4294901757|root|portholed:t:s1\n\
                   garbage\n";
        let jobs = jobs(out);
        assert_eq!(jobs.len(), 3);
        assert_eq!(jobs[0].state, "FAILED");
        assert!(jobs[0].finished());
        assert_eq!(jobs[0].limit_secs, None);
        assert!(jobs[1].pending() && !jobs[1].finished());
        assert_eq!((jobs[1].end, jobs[1].limit_secs), (None, Some(300)));
        assert_eq!(
            jobs[1].comment, "portholed:t:a|b",
            "the comment keeps its separators"
        );
        assert!(jobs[2].running());
        assert_eq!(jobs[2].end, Some(1_796_534_352));
        assert_eq!(jobs[2].limit_secs, Some(3900));
        assert_eq!(jobs[2].nodes, "localhost");
    }

    #[test]
    fn durations_in_every_form_slurm_prints() {
        assert_eq!(duration_secs("10:00"), Some(600));
        assert_eq!(duration_secs("5"), Some(300));
        assert_eq!(duration_secs("1:00:00"), Some(3600));
        assert_eq!(
            duration_secs("2-03:04:05"),
            Some(2 * 86_400 + 3 * 3600 + 4 * 60 + 5)
        );
        assert_eq!(duration_secs("1-12"), Some(86_400 + 12 * 3600));
        for none in [
            "UNLIMITED",
            "INFINITE",
            "infinite",
            "NOT_SET",
            "N/A",
            "",
            "1:2:3:4",
        ] {
            assert_eq!(duration_secs(none), None, "{none}");
        }
    }

    #[test]
    fn a_oneliner_record_gives_its_state_and_exit_code() {
        let record = "JobId=2 JobName=wrap UserId=root(0) JobState=FAILED Reason=NonZeroExitCode \
                      Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 ExitCode=3:0 RunTime=00:00:00";
        assert_eq!(
            state_and_exit(record),
            Some(("FAILED".to_owned(), "3:0".to_owned()))
        );
        assert_eq!(state_and_exit("slurm_load_jobs error"), None);
    }
}
