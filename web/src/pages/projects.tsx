/**
 * `/projects`: the projects and skills (`projects`, `skills`), live through their row events;
 * `/projects/<id>` views and edits one, `/projects/new` creates one: both through the validated
 * `project.save`, and delete through `project.delete` (errors are shown as the server words them).
 */
import { useEffect, useState } from "preact/hooks";
import { bridge, type Json } from "../bridge";
import { useTitle } from "../hooks";
import { navigate } from "../router";

type Project = Record<string, Json>;

function useFsRows(): { projects: Project[]; skills: Json[]; errors: Json[]; loaded: boolean } {
  const [state, setState] = useState({ projects: [] as Project[], skills: [] as Json[], errors: [] as Json[], loaded: false });
  useEffect(() => {
    let live = true;
    const load = async () => {
      try {
        const [p, s] = await Promise.all([bridge.call("projects"), bridge.call("skills")]);
        if (live) setState({ projects: p.projects, skills: s.skills, errors: p.errors, loaded: true });
      } catch {
        /* reloaded on the next event or reconnection */
      }
    };
    const offs = [
      bridge.onOpen(() => void load()),
      ...["rows.projects", "rows.projects.removed", "rows.skills", "rows.skills.removed"].map((e) => bridge.on(e, () => void load())),
    ];
    return () => {
      live = false;
      offs.forEach((f) => f());
    };
  }, []);
  return state;
}

const FIELDS: Array<[string, string, string]> = [
  ["name", "Name", "required"],
  ["workingDir", "Working folder", "required: absolute, or starting with ~"],
  ["description", "Description", ""],
  ["model", "Model", "e.g. gpt-5"],
  ["approvals", "Approvals", "untrusted | on-failure | on-request | never"],
  ["sandbox", "Sandbox", "read-only | workspace-write | danger-full-access"],
  ["agentFile", "Agent file", "e.g. AGENTS.md"],
  ["instructions", "Instructions", ""],
];

function ProjectForm({ project, isNew }: { project: Project; isNew: boolean }) {
  const [values, setValues] = useState<Record<string, string>>(() => {
    const v: Record<string, string> = { id: String(project.id ?? ""), body: "" };
    for (const [k] of FIELDS) v[k] = project[k] == null ? "" : String(project[k]);
    return v;
  });
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const set = (k: string) => (e: Event) => setValues({ ...values, [k]: (e.target as HTMLInputElement).value });
  const save = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setSaved(false);
    const out: Record<string, string> = {};
    // A field left empty is left out: the file is written with the fields given (cleared ones go).
    for (const [k, v] of Object.entries(values)) if (v.trim() || k === "name" || k === "workingDir") out[k] = v;
    if (!isNew) delete out.body; // omitted: the file's notes are kept
    try {
      const r = await bridge.call("project.save", { project: out });
      setSaved(true);
      if (isNew && r.project?.id) navigate(`/projects/${encodeURIComponent(r.project.id)}`, true);
    } catch (err) {
      setError(String((err as Error).message ?? err));
    }
  };
  const remove = async () => {
    if (!confirm(`Delete the project "${values.name}"? Its PROJECT.md file is removed.`)) return;
    try {
      await bridge.call("project.delete", { projectId: String(project.id) });
      navigate("/projects");
    } catch (err) {
      setError(String((err as Error).message ?? err));
    }
  };
  return (
    <form class="project-form" onSubmit={save}>
      {isNew && (
        <label>
          Id <span class="muted small">(optional: from the name)</span>
          <input value={values.id} onInput={set("id")} pattern="[A-Za-z0-9][A-Za-z0-9._-]*" />
        </label>
      )}
      {FIELDS.map(([k, label, hint]) => (
        <label key={k}>
          {label} {hint && <span class="muted small">({hint})</span>}
          {k === "instructions" || k === "description" ? (
            <textarea rows={3} name={k} value={values[k]} onInput={set(k)} />
          ) : (
            <input name={k} value={values[k]} onInput={set(k)} required={k === "name" || k === "workingDir"} />
          )}
        </label>
      ))}
      {isNew ? (
        <label>
          Notes <span class="muted small">(the Markdown body of PROJECT.md)</span>
          <textarea rows={6} name="body" value={values.body} onInput={set("body")} />
        </label>
      ) : (
        <p class="muted small">The notes (Markdown body) of its PROJECT.md are kept as they are.</p>
      )}
      {error && <div class="error-text">{error}</div>}
      {saved && <div class="ok-text">Saved.</div>}
      <div class="run-actions">
        <button type="submit" class="primary">
          {isNew ? "Create" : "Save"}
        </button>
        {!isNew && (
          <button type="button" class="danger" onClick={remove}>
            Delete
          </button>
        )}
      </div>
    </form>
  );
}

export function ProjectsPage({ id }: { id: string | null }) {
  const { projects, skills, errors, loaded } = useFsRows();
  useTitle(id ? `Project ${id}` : "Projects");
  if (id !== null) {
    const isNew = id === "new";
    const project = isNew ? {} : projects.find((p) => p.id === id);
    if (!project) return <section class="page">{loaded ? <p class="empty">No project “{id}”.</p> : <p class="muted">Loading…</p>}</section>;
    const own = skills.filter((s) => s.projectId === id);
    return (
      <section class="page projects-page">
        <p>
          <a href="/projects">← Projects</a>
        </p>
        <h1>{isNew ? "New project" : String(project.name)}</h1>
        {!isNew && (
          <p class="small">
            <a href={`/?project=${encodeURIComponent(String(project.workingDir))}`}>Its threads</a> · <code>{String(project.workingDir)}</code>
          </p>
        )}
        <ProjectForm key={id} project={project} isNew={isNew} />
        {own.length > 0 && (
          <>
            <h2>Its skills</h2>
            <SkillList skills={own} />
          </>
        )}
      </section>
    );
  }
  return (
    <section class="page projects-page">
      <div class="toolbar">
        <h1>Projects</h1>
        <a class="button primary" href="/projects/new">
          New project
        </a>
      </div>
      {loaded && !projects.length && <p class="empty">No projects yet.</p>}
      <ul class="cards">
        {projects.map((p) => (
          <li key={p.id}>
            <a href={`/projects/${encodeURIComponent(p.id)}`}>
              <div class="t-title">{p.name}</div>
              <div class="t-meta">
                <code>{p.workingDir}</code>
                {p.model && <span>{p.model}</span>}
              </div>
              {p.description && <div class="small">{p.description}</div>}
            </a>
          </li>
        ))}
      </ul>
      {errors.length > 0 && (
        <>
          <h2>Files with problems</h2>
          <ul class="small">
            {errors.map((e, i) => (
              <li key={i} class="error-text">
                {e.path}: {e.field ? `${e.field}: ` : ""}
                {e.reason}
              </li>
            ))}
          </ul>
        </>
      )}
      <h2>Skills</h2>
      {loaded && !skills.length && <p class="empty">No skills.</p>}
      <SkillList skills={skills} />
    </section>
  );
}

function SkillList({ skills }: { skills: Json[] }) {
  return (
    <ul class="cards">
      {skills.map((s) => (
        <li key={`${s.source}:${s.projectId}:${s.skillId}`}>
          <div class="card">
            <div class="t-title">{s.name}</div>
            <div class="t-meta">
              <span class="badge">{s.source}</span>
              {s.projectId && <span>{s.projectId}</span>}
            </div>
            <div class="small">{s.description}</div>
          </div>
        </li>
      ))}
    </ul>
  );
}
