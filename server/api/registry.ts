// The one list of every /api/v1 route table: data, annotation, training, members. The OpenAPI
// document, the unknown-path answer and the tests all read it, so a new table is added here once.
import { annotationRoutes } from "./annotation";
import { memberRoutes } from "./members";
import { routes } from "./routes";
import { trainingRoutes } from "./training";

export const allRoutes = { ...routes, ...annotationRoutes, ...trainingRoutes, ...memberRoutes };
