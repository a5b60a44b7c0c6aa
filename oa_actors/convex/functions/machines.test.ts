import { describe, expect, test } from "vitest";
import { api } from "./_generated/api";
import { newTest } from "./test.setup";

const project = (id: string, machineId: string) => ({
  id,
  name: id,
  workingDir: `/home/${machineId}/${id}`,
  machineId,
  machineName: `${machineId}-name`,
  createdAt: 1,
  updatedAt: 1,
});

describe("several desktops on one deployment", () => {
  test("runs:enqueue targets a machine; listPending and claim hand it only to that machine", async () => {
    const t = newTest();
    const threadDocId = await t.mutation(api.threads.create, { title: "x" });
    const forA = await t.mutation(api.runs.enqueue, { threadDocId, text: "a", machineId: "m-a" });
    const forB = await t.mutation(api.runs.enqueue, { threadDocId, text: "b", machineId: "m-b" });
    const anyone = await t.mutation(api.runs.enqueue, { threadDocId, text: "c" });
    expect(forA.machineId).toBe("m-a");
    expect(anyone.machineId).toBeNull();
    const pendingA = await t.query(api.runs.listPending, { machineId: "m-a" });
    expect(pendingA.map((r: { _id: string }) => r._id)).toEqual([forA.runId, anyone.runId]);
    const pendingB = await t.query(api.runs.listPending, { machineId: "m-b" });
    expect(pendingB.map((r: { _id: string }) => r._id)).toEqual([forB.runId, anyone.runId]);
    // B may not claim A's run, even by id; A may.
    expect(await t.mutation(api.runs.claim, { workerId: "wb", runId: forA.runId, machineId: "m-b" })).toBeNull();
    expect(await t.mutation(api.runs.claim, { workerId: "wb", machineId: "m-b" })).toMatchObject({
      _id: forB.runId,
      machineId: "m-b",
      workerId: "wb",
    });
    expect(await t.mutation(api.runs.claim, { workerId: "wa", runId: forA.runId, machineId: "m-a" })).toMatchObject({
      status: "claimed",
    });
    expect(await t.query(api.runs.listPending, { machineId: "m-b" })).toHaveLength(1); // the unassigned one
  });

  test("projects of the same id on two machines are two rows; a run follows its project's machine", async () => {
    const t = newTest();
    await t.mutation(api.sync.applyProjects, { upserts: [project("web", "m-a"), project("web", "m-b")] });
    expect(await t.query(api.projects.list, {})).toHaveLength(2);
    expect(await t.query(api.projects.byId, { id: "web", machineId: "m-b" })).toMatchObject({
      workingDir: "/home/m-b/web",
    });
    // Removing B's project leaves A's.
    await t.mutation(api.sync.applyProjects, { removeIds: ["web"], machineId: "m-b" });
    expect((await t.query(api.projects.list, {})).map((p: { machineId?: string }) => p.machineId)).toEqual(["m-a"]);
    const threadDocId = await t.mutation(api.threads.create, { title: "y" });
    const run = await t.mutation(api.runs.enqueue, { threadDocId, text: "go", projectId: "web" });
    expect(run.machineId).toBe("m-a");
  });
});
