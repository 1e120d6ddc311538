export {
  importStream,
  emptyReport,
  summarize,
  type ImportOptions,
  type ImportProgress,
  type ImportReport,
  type ImportResult,
  type ImportJobView,
} from "./importer";
export { getImportJob, listImportJobs, importFile, importJobView } from "./jobs";
export {
  parseRow,
  parseHHTranscript,
  renderHHTranscript,
  RowError,
  MAX_COMPLETIONS,
  type ImportRow,
  type RowFormat,
} from "./formats";
export { readRecords, type RawRecord, type ByteSource } from "./reader";
