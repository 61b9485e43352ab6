/** `npm run bench` options: modest defaults, bounds, and the worker counts the stack goes through. */
import { describe, expect, it } from 'vitest';
import { parseSuiteArgs, workerSchedule } from '../../bench/suite-args.ts';

describe('parseSuiteArgs', () => {
  it('has modest defaults', () => {
    expect(parseSuiteArgs([])).toEqual({
      seconds: 10,
      connections: 32,
      users: 100,
      workers: 2,
      echoConnections: 64,
      echoBytes: 1024,
      largeMiB: 1024,
      processingMiB: 8,
      processingConnections: 8,
      workerCounts: [1, 2, 4],
      files: 500,
      uploadConnections: 4,
      interactiveConnections: 4,
      phases: ['small', 'echo', 'large', 'scaling'],
      growthSizes: [1000, 10_000, 50_000],
      growthFillMinutes: 30,
      processing: true,
      run: 'compiled',
    });
  });

  it('runs the stack compiled unless told to run the sources, and nothing else', () => {
    expect(parseSuiteArgs(['--run', 'sources']).run).toBe('sources');
    expect(() => parseSuiteArgs(['--run', 'docker'])).toThrow(/compiled or sources/);
  });

  it('turns processing off for a growth run, never for the processing-files phase', () => {
    expect(parseSuiteArgs(['--phases', 'growth', '--processing', 'off']).processing).toBe(false);
    expect(() => parseSuiteArgs(['--phases', 'growth,processing-files', '--processing', 'off'])).toThrow(
      /processing-files/,
    );
  });

  it('reads the growth phase, its sizes (sorted, once each) and its fill budget', () => {
    const args = parseSuiteArgs([
      '--phases',
      'small,growth',
      '--growth-sizes',
      '1000, 200,1000',
      '--growth-fill-minutes',
      '5',
    ]);
    expect(args).toMatchObject({
      phases: ['small', 'growth'],
      growthSizes: [200, 1000],
      growthFillMinutes: 5,
    });
    expect(workerSchedule(args)).toEqual([2]);
  });

  it('reads the processing-files phase and its options', () => {
    const args = parseSuiteArgs([
      '--phases',
      'processing-files',
      '--files',
      '50',
      '--upload-connections',
      '8',
      '--interactive-connections',
      '2',
    ]);
    expect(args).toMatchObject({
      phases: ['processing-files'],
      files: 50,
      uploadConnections: 8,
      interactiveConnections: 2,
    });
  });

  it('reads and sorts worker counts, phases and the profile folder', () => {
    const args = parseSuiteArgs([
      '--worker-counts',
      '4,1,2,2',
      '--phases',
      'scaling,echo',
      '--cpu-prof',
      '/tmp/p',
    ]);
    expect(args.workerCounts).toEqual([1, 2, 4]);
    expect(args.phases).toEqual(['scaling', 'echo']);
    expect(args.cpuProfDir).toBe('/tmp/p');
  });

  it.each([
    [['--seconds', '0'], /--seconds/],
    [['--seconds', '601'], /--seconds/],
    [['--processing-mib', '65'], /--processing-mib/],
    [['--worker-counts', '1,x'], /--worker-counts/],
    [['--worker-counts', '17'], /--worker-counts/],
    [['--phases', 'small,nope'], /unknown phase nope/],
    [['--files', '0'], /--files/],
    [['--upload-connections', '65'], /--upload-connections/],
    [['--interactive-connections', 'x'], /--interactive-connections/],
    [['--growth-sizes', '0'], /--growth-sizes/],
    [['--growth-sizes', '1000,x'], /--growth-sizes/],
    [['--growth-sizes', '200001'], /--growth-sizes/],
    [['--growth-fill-minutes', '0'], /--growth-fill-minutes/],
    [['--processing', 'maybe'], /--processing takes on or off/],
    [['--nope', '1'], /nope/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseSuiteArgs(argv)).toThrow(message);
  });
});

describe('workerSchedule', () => {
  it('goes up through the scaling counts and the main phases’ count', () => {
    expect(workerSchedule({ workers: 2, workerCounts: [1, 2, 4], phases: ['small', 'scaling'] })).toEqual([
      1, 2, 4,
    ]);
    expect(workerSchedule({ workers: 3, workerCounts: [1, 2, 4], phases: ['large', 'scaling'] })).toEqual([
      1, 2, 3, 4,
    ]);
    expect(workerSchedule({ workers: 3, workerCounts: [1, 2], phases: ['scaling'] })).toEqual([1, 2]);
    expect(workerSchedule({ workers: 2, workerCounts: [1, 4], phases: ['echo'] })).toEqual([2]);
  });

  it('goes through the worker counts for processing-files, and --workers for its interactive side', () => {
    expect(workerSchedule({ workers: 3, workerCounts: [1, 2, 4], phases: ['processing-files'] })).toEqual([
      1, 2, 3, 4,
    ]);
    expect(workerSchedule({ workers: 2, workerCounts: [1, 2], phases: ['processing-files'] })).toEqual([
      1, 2,
    ]);
  });
});
