/**
 * The sign-in and consent pages: plain HTML forms, no script, labelled
 * fields, errors announced to screen readers, readable without styles.
 * Every value is escaped; nothing a caller sent is ever written raw.
 */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1b1f24}
main{max-width:24rem;margin:4rem auto;padding:2rem;background:#fff;border-radius:8px;box-shadow:0 1px 3px #0003}
h1{font-size:1.4rem;margin-top:0}label{display:block;margin-top:1rem;font-weight:600}
input{width:100%;box-sizing:border-box;padding:.5rem;font:inherit;border:1px solid #767676;border-radius:4px}
button{margin-top:1.25rem;padding:.55rem 1.2rem;font:inherit;border-radius:4px;border:1px solid #0b5cad;background:#0b5cad;color:#fff;cursor:pointer}
button.secondary{background:#fff;color:#0b5cad}:focus-visible{outline:3px solid #f5a623;outline-offset:2px}
.error{color:#a4000f;border-left:4px solid #a4000f;padding-left:.75rem}ul{padding-left:1.2rem}`;

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)} · CloudFlow</title><style>${STYLE}</style></head>
<body><main>${body}</main></body></html>`;
}

function errorBlock(message: string | undefined): string {
  return message ? `<p class="error" role="alert">${escapeHtml(message)}</p>` : '';
}

export function loginPage(options: {
  interaction: string;
  clientName: string;
  error?: string;
  username?: string;
}): string {
  return page(
    'Sign in',
    `<h1>Sign in to CloudFlow</h1>
<p><strong>${escapeHtml(options.clientName)}</strong> wants to access your CloudFlow workspace.</p>
${errorBlock(options.error)}
<form method="post" action="/auth/login">
<input type="hidden" name="interaction" value="${escapeHtml(options.interaction)}">
<label for="username">Username</label>
<input id="username" name="username" autocomplete="username" required value="${escapeHtml(options.username ?? '')}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>`,
  );
}

const SCOPE_WORDS: Record<string, string> = {
  read: 'See your pipelines, jobs and results',
  write: 'Create and change pipelines and run jobs',
  admin: 'Manage API keys, users and OAuth clients of your workspace',
};

export function consentPage(options: {
  interaction: string;
  clientName: string;
  username: string;
  scopes: string[];
}): string {
  const items = options.scopes
    .map((s) => `<li>${escapeHtml(SCOPE_WORDS[s] ?? s)} (<code>${escapeHtml(s)}</code>)</li>`)
    .join('');
  return page(
    'Allow access',
    `<h1>Allow access?</h1>
<p>Signed in as <strong>${escapeHtml(options.username)}</strong>.</p>
<p><strong>${escapeHtml(options.clientName)}</strong> asks to:</p>
<ul>${items}</ul>
<form method="post" action="/auth/consent">
<input type="hidden" name="interaction" value="${escapeHtml(options.interaction)}">
<button type="submit" name="decision" value="approve">Allow</button>
<button type="submit" name="decision" value="deny" class="secondary">Deny</button>
</form>`,
  );
}

export function errorPage(title: string, message: string): string {
  return page(title, `<h1>${escapeHtml(title)}</h1>${errorBlock(message)}`);
}
