/** The console's entry: mounts the app. Everything it loads comes from this origin (see docs/console.md). */
import { render } from 'preact';
import { App } from './components/App.tsx';
import './styles.css';

const root = document.getElementById('app');
if (root !== null) render(<App />, root);
