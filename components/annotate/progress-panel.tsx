"use client";
// The annotator's own figures: today, streak, time per item, gold accuracy and its warning.
export interface ProgressData {
  today: number;
  total: number;
  streak: number;
  medianSecondsPerItem: number | null;
  gold: { done: number; accuracy: number | null; recentAccuracy: number | null; warning: string | null };
}

export function ProgressPanel({ progress }: { progress: ProgressData | undefined }) {
  if (!progress) return <div className="h-10" aria-hidden />;
  return (
    <div className="flex flex-col gap-2">
      <dl
        className="flex flex-wrap gap-x-6 gap-y-1 text-sm"
        aria-label="Your progress"
        data-testid="progress"
      >
        <div className="flex gap-1">
          <dt className="text-slate-600">Today</dt>
          <dd className="font-semibold" data-testid="progress-today">
            {progress.today}
          </dd>
        </div>
        <div className="flex gap-1">
          <dt className="text-slate-600">Streak</dt>
          <dd className="font-semibold" data-testid="progress-streak">
            {progress.streak} day{progress.streak === 1 ? "" : "s"}
          </dd>
        </div>
        <div className="flex gap-1">
          <dt className="text-slate-600">Median time</dt>
          <dd className="font-semibold" data-testid="progress-time">
            {progress.medianSecondsPerItem === null ? "–" : `${progress.medianSecondsPerItem} s`}
          </dd>
        </div>
        <div className="flex gap-1">
          <dt className="text-slate-600">Check items</dt>
          <dd className="font-semibold" data-testid="progress-gold">
            {progress.gold.accuracy === null
              ? `${progress.gold.done} done`
              : `${Math.round(progress.gold.accuracy * 100)}% of ${progress.gold.done}`}
          </dd>
        </div>
      </dl>
      {progress.gold.warning && (
        <p
          role="alert"
          className="rounded border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-900"
          data-testid="gold-warning"
        >
          {progress.gold.warning}
        </p>
      )}
    </div>
  );
}
