import Collaboration from "@tiptap/extension-collaboration";
import { EditorContent, useEditor } from "@tiptap/react";
import StarterKit from "@tiptap/starter-kit";
import { useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import { connect, docId } from "../shared.js";

function Editor({ doc, provider }) {
  // Yjs keeps the history: StarterKit's own undo/redo is off, as the Collaboration extension requires.
  const editor = useEditor({ extensions: [StarterKit.configure({ undoRedo: false }), Collaboration.configure({ document: doc })] });
  const [status, setStatus] = useState("connecting");
  useEffect(() => {
    const onStatus = ({ status }) => setStatus(status);
    provider.on("status", onStatus);
    return () => provider.off("status", onStatus);
  }, [provider]);
  return (
    <>
      <p>
        Document <code>{docId}</code> · {status}
      </p>
      <EditorContent editor={editor} className="editor" />
    </>
  );
}

const { doc, provider } = await connect();
createRoot(document.querySelector("#root")).render(<Editor doc={doc} provider={provider} />);
