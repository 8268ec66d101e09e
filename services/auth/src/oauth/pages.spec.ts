import { consentPage, errorPage, escapeHtml, loginPage } from './pages';

const SCRIPT = '<script>alert(1)</script>';
const QUOTED = `x" autofocus onfocus="alert(1)`;
const HOSTILE = `${SCRIPT}${QUOTED}`;

describe('escapeHtml', () => {
  it('escapes the five characters that matter in HTML text and attributes', () => {
    expect(escapeHtml(`&<>"'`)).toBe('&#38;&#60;&#62;&#34;&#39;');
  });

  it('leaves ordinary text as it is', () => {
    expect(escapeHtml('Ada Lovelace – Analytical Engine 1843')).toBe(
      'Ada Lovelace – Analytical Engine 1843',
    );
  });
});

/** Nothing a caller sent may open a tag or leave an attribute. */
function expectInert(html: string): void {
  expect(html).not.toMatch(/<script/i);
  expect(html).not.toContain('onfocus="');
  expect(html).not.toContain('" autofocus');
  expect(html).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
}

describe('loginPage', () => {
  it('shows hostile client names, usernames and interaction ids as text only', () => {
    const html = loginPage({
      interaction: HOSTILE,
      clientName: HOSTILE,
      username: HOSTILE,
      error: HOSTILE,
    });

    expectInert(html);
    expect(html).toContain(
      `name="interaction" value="&#60;script&#62;alert(1)&#60;/script&#62;x&#34; autofocus onfocus=&#34;alert(1)"`,
    );
    expect(html).toContain(
      `<strong>&#60;script&#62;alert(1)&#60;/script&#62;x&#34; autofocus onfocus=&#34;alert(1)</strong>`,
    );
  });

  it('is an English page with labelled fields the browser can fill in', () => {
    const html = loginPage({ interaction: 'int_1', clientName: 'Acme CLI', username: 'ada' });

    expect(html).toContain('<html lang="en">');
    expect(html).toContain('<label for="username">Username</label>');
    expect(html).toMatch(/<input id="username" [^>]*autocomplete="username"[^>]*value="ada">/);
    expect(html).toContain('<label for="password">Password</label>');
    expect(html).toMatch(
      /<input id="password" [^>]*type="password" autocomplete="current-password"/,
    );
    expect(html).toContain('<strong>Acme CLI</strong> wants to access');
    expect(html).toContain('value="int_1"');
  });

  it('announces an error to screen readers, and shows none when there is none', () => {
    const failed = loginPage({
      interaction: 'int_1',
      clientName: 'Acme CLI',
      error: 'Wrong username or password',
    });
    const fresh = loginPage({ interaction: 'int_1', clientName: 'Acme CLI' });

    expect(failed).toContain('<p class="error" role="alert">Wrong username or password</p>');
    expect(fresh).not.toContain('role="alert"');
  });
});

describe('consentPage', () => {
  it('shows hostile client names, usernames, scopes and interaction ids as text only', () => {
    const html = consentPage({
      interaction: HOSTILE,
      clientName: HOSTILE,
      username: HOSTILE,
      scopes: ['read', HOSTILE],
    });

    expectInert(html);
    expect(html).toContain(
      `Signed in as <strong>&#60;script&#62;alert(1)&#60;/script&#62;x&#34; autofocus onfocus=&#34;alert(1)</strong>`,
    );
    expect(html).toContain(
      `name="interaction" value="&#60;script&#62;alert(1)&#60;/script&#62;x&#34; autofocus onfocus=&#34;alert(1)"`,
    );
  });

  it('says in words what each requested scope allows and offers both answers', () => {
    const html = consentPage({
      interaction: 'int_1',
      clientName: 'Acme CLI',
      username: 'ada',
      scopes: ['read', 'write'],
    });

    expect(html).toContain('<html lang="en">');
    expect(html).toContain('<li>See your pipelines, jobs and results (<code>read</code>)</li>');
    expect(html).toContain(
      '<li>Create and change pipelines and run jobs (<code>write</code>)</li>',
    );
    expect(html).not.toContain('<code>admin</code>');
    expect(html).toContain('name="decision" value="approve"');
    expect(html).toContain('name="decision" value="deny"');
  });
});

describe('errorPage', () => {
  it('announces the message and escapes it', () => {
    const html = errorPage('Sign-in failed', HOSTILE);

    expectInert(html);
    expect(html).toContain('<html lang="en">');
    expect(html).toMatch(/<p class="error" role="alert">&#60;script&#62;/);
  });
});
