// The trainer's unit tests, bundled for the GPU machine (tests/gpu/bundle.sh; run from the project
// root so their fixtures resolve): with PAIRWISE_TEST_BACKEND=cuda, the tests that force the cpu
// backend run on cuda instead (trainer/backend.ts).
import "../unit/trainer/losses.test";
import "../unit/trainer/model.test";
import "../unit/trainer/generate.test";
import "../unit/trainer/training.test";
import "../unit/trainer/checkpoint.test";
import "../unit/trainer/data.test";
import "../unit/trainer/grpo.test";
import "../unit/trainer/envs.test";
import "../unit/trainer/hf.test";
import "../unit/trainer/hf-save.test";
