import { describe, expect, it } from 'vitest';
import { nearMissSettings } from '../src/config.js';

describe('variables without an underscore that nearly name a setting', () => {
  it('names WORKERS for WORKER and METRICS for METRIC, which were ignored in silence', () => {
    expect(nearMissSettings({ WORKER: '4', METRIC: 'off', workerss: '2' })).toEqual([
      { variable: 'WORKER', setting: 'WORKERS' },
      { variable: 'METRIC', setting: 'METRICS' },
      { variable: 'workerss', setting: 'WORKERS' },
    ]);
  });

  it("still leaves a machine's own underscore-less variables alone", () => {
    const machine = ['HOME', 'PATH', 'HOSTNAME', 'LOGNAME', 'OLDPWD', 'DISPLAY', 'EDITOR', 'VISUAL', 'TMPDIR', 'COLUMNS', 'LINES', 'SHELL', 'SHLVL', 'TERM', 'COLORTERM', 'LESSOPEN', 'MANPATH', 'INFOPATH', 'XAUTHORITY', 'PWD', 'USER', 'LANG', 'MAIL', 'PORTS', 'HOSTS'];
    expect(nearMissSettings(Object.fromEntries(machine.map((name) => [name, 'x'])))).toEqual([]);
  });
});
