import type { EngineController } from '@ddm/core';
import { Box, useWindowSize } from 'ink';
import { useMemo } from 'react';
import { EventLog } from './components/event-log.tsx';
import { Header } from './components/header.tsx';
import { HelpOverlay } from './components/help-overlay.tsx';
import { JobList } from './components/job-list.tsx';
import { JobSummary } from './components/job-summary.tsx';
import { KeyHints } from './components/key-hints.tsx';
import { PromptLine } from './components/prompt-line.tsx';
import { RateSparkline } from './components/rate-sparkline.tsx';
import { SegmentHeatmap } from './components/segment-heatmap.tsx';
import { SegmentTable } from './components/segment-table.tsx';
import { WhyLine } from './components/why-line.tsx';
import { useEngineEvents } from './hooks/use-engine-events.ts';
import { useEngineSnapshot } from './hooks/use-engine-snapshot.ts';
import { useKeyBindings } from './hooks/use-key-bindings.ts';
import { selectedJob } from './lib/key-map.ts';
import { planLayout } from './lib/layout.ts';
import { whyText } from './lib/why.ts';

export interface AppProps {
  readonly controller: EngineController;
  readonly onQuit: () => void;
  /** @default 'ddm' */
  readonly title?: string;
  /** Marks the header as attached to an engine in another process (the snapshot can say so too). */
  readonly isAttached?: boolean;
  /** The attached engine's pid, named in the header's marker. */
  readonly attachedPid?: number | null;
  /** Colours and styles; off under `NO_COLOR`. */
  readonly isColor: boolean;
  /** Polls of the engine per second right after an engine event, capped at 15. */
  readonly fps?: number;
}

const NO_SAMPLES: readonly number[] = [];

/** Layout only: reads the engine through hooks and hands plain props to the components. */
export function App({
  controller,
  onQuit,
  title = 'ddm',
  isAttached = false,
  attachedPid = null,
  isColor,
  fps,
}: AppProps) {
  const { columns, rows } = useWindowSize();
  const view = useEngineSnapshot(controller, fps === undefined ? {} : { fps });
  const events = useEngineEvents(controller);
  const { jobs } = view.snapshot;
  const ui = useKeyBindings({ controller, jobs, onQuit });
  const job = selectedJob(jobs, ui);
  const plan = planLayout({
    columns,
    rows,
    jobCount: jobs.length,
    segmentCount: job?.segments.length ?? 0,
    hasSelection: job !== null,
    isSizeKnown: (job?.sizeBytes ?? 0) > 0,
  });
  // One column spare: writing the last column makes some terminals wrap.
  const width = Math.max(1, columns - 1);
  const { heatmapRows, eventRows } = plan;
  const detailRows =
    (plan.showDetail ? 2 + heatmapRows : 0) +
    (plan.showSparkline ? 1 : 0) +
    (plan.segmentRows > 0 ? plan.segmentRows + 1 : 0);
  const snapshotError = view.error;
  // Memoised so the prompt line (a memo component) sees the same object while the error stays.
  const errorStatus = useMemo(
    () => (snapshotError === null ? null : { tone: 'error' as const, text: snapshotError }),
    [snapshotError],
  );
  const status = ui.status ?? errorStatus;
  const confirmJobId = ui.mode.kind === 'confirm-cancel' || ui.mode.kind === 'confirm-remove' ? ui.mode.jobId : null;
  const confirmJobName = jobs.find((candidate) => candidate.id === confirmJobId)?.fileName ?? null;

  return (
    <Box flexDirection="column" width={columns} height={rows} overflow="hidden">
      <Header
        snapshot={view.snapshot}
        title={title}
        isAttached={isAttached}
        attachedPid={attachedPid}
        width={width}
        isColor={isColor}
      />
      <JobList jobs={jobs} selectedJobId={job?.id ?? null} rows={plan.jobRows} width={width} isColor={isColor} />
      {ui.mode.kind === 'help' ? (
        <HelpOverlay rows={Math.max(1, detailRows + eventRows)} width={width} isColor={isColor} />
      ) : (
        <>
          {plan.showDetail && job !== null ? (
            <>
              <JobSummary job={job} width={width} isColor={isColor} />
              <SegmentHeatmap
                segments={job.segments}
                sizeBytes={job.sizeBytes}
                width={width}
                rows={heatmapRows}
                isColor={isColor}
              />
              {plan.showSparkline ? (
                <RateSparkline
                  samples={view.rateHistory.samplesByJob.get(job.id) ?? NO_SAMPLES}
                  width={width}
                  isColor={isColor}
                />
              ) : null}
              {plan.segmentRows > 0 ? (
                <SegmentTable segments={job.segments} rows={plan.segmentRows} width={width} isColor={isColor} />
              ) : null}
              <WhyLine
                text={whyText(job, events, view.snapshot.at)}
                isError={job.state === 'failed'}
                width={width}
                isColor={isColor}
              />
            </>
          ) : null}
          {eventRows > 0 ? <EventLog events={events} rows={eventRows} width={width} isColor={isColor} /> : null}
        </>
      )}
      <Box flexGrow={1} />
      <PromptLine mode={ui.mode} status={status} jobName={confirmJobName} width={width} isColor={isColor} />
      {plan.showKeyHints ? <KeyHints mode={ui.mode} width={width} isColor={isColor} /> : null}
    </Box>
  );
}
