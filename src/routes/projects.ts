/** POST /v1/projects (admin) and GET /v1/project (secret key). */
import { createRoute, z } from "@hono/zod-openapi";
import { requireAdmin, requireSecretKey } from "../auth/middleware";
import { generateSecretKey, hashSecretKey } from "../auth/secret-key";
import { randomId } from "../ids";
import { getProject, insertProjectWithKey } from "../db/queries";
import { AppError } from "../errors";
import { createRouter, errors, SECURITY } from "../http/openapi";
import { iso } from "../ids";

const ProjectSchema = z.object({ id: z.string(), name: z.string(), createdAt: z.string().openapi({ format: "date-time" }) }).openapi("Project");

const CreatedProjectSchema = ProjectSchema.extend({
  secretKey: z.string().openapi({ description: "The project's first secret key. Shown this once; only its hash is stored." }),
}).openapi("CreatedProject");

const CreateProjectBody = z.object({ name: z.string().trim().min(1).max(200) }).openapi("CreateProject");

const createProject = createRoute({
  method: "post",
  path: "/projects",
  summary: "Create a project and its first secret key",
  operationId: "createProject",
  description: "Admin token only. Creates a project and its first secret key; the key is in this answer and never again (only its hash is stored).",
  tags: ["projects"],
  security: SECURITY.admin,
  middleware: [requireAdmin] as const,
  request: { body: { required: true, content: { "application/json": { schema: CreateProjectBody } } } },
  responses: {
    201: { description: "The project, with its secret key", content: { "application/json": { schema: CreatedProjectSchema } } },
    ...errors(400, 401, 403, 415),
  },
});

const getOwnProject = createRoute({
  method: "get",
  path: "/project",
  summary: "The caller's project",
  operationId: "getProject",
  description: "The project the calling secret key belongs to.",
  tags: ["projects"],
  security: SECURITY.secretKey,
  middleware: [requireSecretKey] as const,
  responses: {
    200: { description: "The project", content: { "application/json": { schema: ProjectSchema } } },
    ...errors(401, 403),
  },
});

export const projectRoutes = createRouter()
  .openapi(createProject, async (c) => {
    const { name } = c.req.valid("json");
    const project = { id: randomId(21, "prj_"), name, createdAt: Date.now() };
    const secretKey = generateSecretKey();
    await insertProjectWithKey(c.env.DB, project, { id: randomId(21, "key_"), name: "default", hash: await hashSecretKey(secretKey) });
    return c.json({ id: project.id, name: project.name, createdAt: iso(project.createdAt), secretKey }, 201);
  })
  .openapi(getOwnProject, async (c) => {
    const project = await getProject(c.env.DB, c.var.projectId);
    if (!project) throw new AppError("not_found", "no such project");
    return c.json({ id: project.id, name: project.name, createdAt: iso(project.createdAt) }, 200);
  });
